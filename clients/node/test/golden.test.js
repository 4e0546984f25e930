// Replays every case of the golden catalogue through step.onnx and through
// update.onnx + result.onnx. Expected numbers come from the numpy reference
// that wrote the catalogue: counts must match exactly (to 1e-9 relative with
// fractional weights) and scores within 1e-6.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { IouMetric } from '../src/index.js';
import { caseIds, loadCase } from './support/goldenCase.js';

const SCORE_TOLERANCE = 1e-6;
const FRACTIONAL_COUNT_TOLERANCE = 1e-9;

function assertCount(golden, actual, expected, what) {
  if (golden.fractionalWeights) {
    const allowed = FRACTIONAL_COUNT_TOLERANCE * Math.abs(expected);
    assert.ok(
      Math.abs(actual - expected) <= allowed,
      `${what}: expected ${expected} within ${allowed}, got ${actual}`,
    );
  } else {
    assert.equal(actual, expected, what);
  }
}

function assertCounts(golden, metric) {
  const cm = metric.totalCm();
  const expected = golden.expected.total_cm;
  assert.equal(cm.type, expected.dtype, 'total_cm dtype');
  assert.deepEqual(cm.shape, expected.shape, 'total_cm shape');
  assert.equal(cm.data.length, expected.data.length, 'total_cm size');
  for (let index = 0; index < expected.data.length; index += 1) {
    const cell = `total_cm[${index}]`;
    if (cm.type === 'int64') {
      assert.equal(cm.data[index], BigInt(expected.data[index]), cell);
    } else {
      assertCount(golden, cm.data[index], expected.data[index], cell);
    }
  }
  assertCount(
    golden,
    metric.droppedWeight,
    golden.expected.dropped_weight,
    'dropped_weight',
  );
  assertCount(
    golden,
    metric.ignoredWeight,
    golden.expected.ignored_weight,
    'ignored_weight',
  );
}

async function assertScores(golden, metric) {
  const result = await metric.result();
  assert.ok(
    Math.abs(result - golden.expected.result) <= SCORE_TOLERANCE,
    `result: expected ${golden.expected.result}, got ${result}`,
  );
  const perClass = await metric.perClassIou();
  const expected = golden.expected.per_class_iou;
  assert.equal(perClass.length, expected.length, 'number of classes');
  expected.forEach((value, index) => {
    const what = `per_class_iou[${index}]`;
    if (value === null) {
      assert.ok(
        Number.isNaN(perClass[index]),
        `${what}: expected NaN, got ${perClass[index]}`,
      );
    } else {
      assert.ok(
        Math.abs(perClass[index] - value) <= SCORE_TOLERANCE,
        `${what}: expected ${value}, got ${perClass[index]}`,
      );
    }
  });
}

async function replay(golden, metric) {
  try {
    assert.equal(metric.metadata.metric, golden.metric, 'metric name');
    assert.equal(metric.metadata.numClasses, golden.num_classes, 'num_classes');
    assert.equal(metric.metadata.stateType, golden.state_dtype, 'state dtype');
    assert.deepEqual(metric.metadata.config, golden.config, 'config');
    for (const batch of golden.batches) {
      await metric.update(batch.yTrue, batch.yPred, batch.weight.data);
    }
    assertCounts(golden, metric);
    await assertScores(golden, metric);
  } finally {
    await metric.close();
  }
}

const ids = caseIds();

test('catalogue lists cases', () => {
  assert.ok(ids.length > 0, 'index.json lists no case');
});

for (const id of ids) {
  describe(id, () => {
    const golden = loadCase(id);

    test('step', async () => {
      await replay(golden, await IouMetric.create(join(golden.folder, 'step.onnx')));
    });

    test('update+result', async () => {
      const metric = await IouMetric.createFromUpdateAndResult(
        join(golden.folder, 'update.onnx'),
        join(golden.folder, 'result.onnx'),
      );
      await replay(golden, metric);
    });
  });
}
