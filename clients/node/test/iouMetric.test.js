// Hand-computed checks of IouMetric on catalogue models: scoring, reset,
// metadata and the errors for arguments that do not fit the graph.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { IouMetric, readMetadataProps } from '../src/index.js';
import { CATALOGUE } from './support/goldenCase.js';

// IoU of classes 0 and 2 of 4, int64 labels of rank 3, float64 state.
const IOU = join(CATALOGUE, 'iou_int64_with_empty_batch');
// MeanIoU of 6 classes with an int64 state.
const INT64_STATE = join(CATALOGUE, 'meaniou_ignore_near_inrange_far_int64');

const labels = (values, shape) => ({ data: BigInt64Array.from(values, BigInt), shape });
const Y_TRUE = labels([0, 0, 1, 1], [1, 1, 4]);
const Y_PRED = labels([0, 1, 0, 1], [1, 1, 4]);

async function withMetric(open, body) {
  const metric = await open();
  try {
    await body(metric);
  } finally {
    await metric.close();
  }
}

test('step scores hand example', () =>
  withMetric(
    () => IouMetric.create(join(IOU, 'step.onnx')),
    async (metric) => {
      await metric.update(Y_TRUE, Y_PRED);
      // Class 0: TP 1, FP 1, FN 1. Class 2 never occurs, so it is not averaged.
      assert.equal(await metric.result(), Math.fround(1 / 3));
      const perClass = await metric.perClassIou();
      assert.equal(perClass[0], Math.fround(1 / 3));
      assert.equal(perClass[1], Math.fround(1 / 3));
      assert.ok(Number.isNaN(perClass[2]));
      assert.deepEqual(
        Array.from(metric.totalCm().data),
        [1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      );
    },
  ));

test('update+result weighs samples', () =>
  withMetric(
    () =>
      IouMetric.createFromUpdateAndResult(
        join(IOU, 'update.onnx'),
        join(IOU, 'result.onnx'),
      ),
    async (metric) => {
      await metric.update(
        labels([0, 0, 1, 1], [2, 1, 2]),
        labels([0, 1, 0, 1], [2, 1, 2]),
        [0.5, 2],
      );
      // Sample 0 contains pairs (0,0) and (0,1), sample 1 contains (1,0) and (1,1).
      assert.deepEqual(
        Array.from(metric.totalCm().data),
        [0.5, 0.5, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      );
      // Class 0: 0.5 / (1 + 2.5 - 0.5).
      assert.equal(await metric.result(), Math.fround(0.5 / 3));
    },
  ));

test('reset gives zero state', () =>
  withMetric(
    () => IouMetric.create(join(IOU, 'step.onnx')),
    async (metric) => {
      await metric.update(Y_TRUE, labels([0, 1, 9, -1], [1, 1, 4]));
      assert.equal(metric.droppedWeight, 2);
      await metric.reset();
      assert.equal(await metric.result(), 0);
      assert.equal(metric.droppedWeight, 0);
      assert.deepEqual(Array.from(metric.totalCm().data), new Array(16).fill(0));
      assert.ok((await metric.perClassIou()).every(Number.isNaN));
    },
  ));

test('concurrent updates all count', () =>
  withMetric(
    () => IouMetric.create(join(IOU, 'step.onnx')),
    async (metric) => {
      await Promise.all([1, 2, 3].map(() => metric.update(Y_TRUE, Y_PRED)));
      assert.deepEqual(Array.from(metric.totalCm().data.slice(0, 2)), [3, 3]);
    },
  ));

test('int64 state keeps BigInt counts', () =>
  withMetric(
    () => IouMetric.create(join(INT64_STATE, 'step.onnx')),
    async (metric) => {
      assert.equal(metric.metadata.metric, 'MeanIoU');
      assert.equal(metric.metadata.numClasses, 6);
      assert.deepEqual(metric.metadata.config.ignore_class, [2, 255, 5000]);
      await metric.update(Y_TRUE, Y_PRED, [3]);
      const cm = metric.totalCm();
      assert.equal(cm.type, 'int64');
      assert.deepEqual(Array.from(cm.data.slice(0, 2)), [3n, 3n]);
      await assert.rejects(metric.update(Y_TRUE, Y_PRED, [0.5]), RangeError);
    },
  ));

test('rejects wrong label type', () =>
  withMetric(
    () => IouMetric.create(join(IOU, 'step.onnx')),
    async (metric) => {
      const int32 = { data: Int32Array.from([0, 0, 1, 1]), shape: [1, 1, 4] };
      await assert.rejects(metric.update(int32, Y_PRED), {
        name: 'TypeError',
        message: /`yTrue` to be int64 of rank 3/,
      });
    },
  ));

test('rejects wrong weight length', () =>
  withMetric(
    () => IouMetric.create(join(IOU, 'step.onnx')),
    async (metric) => {
      await assert.rejects(metric.update(Y_TRUE, Y_PRED, [1, 2, 3]), {
        name: 'RangeError',
        message: /length 1, 1 \(per sample\) or 4 \(per pair\)/,
      });
      assert.deepEqual(Array.from(metric.totalCm().data), new Array(16).fill(0));
    },
  ));

test('rejects step given as update', async () => {
  await assert.rejects(
    IouMetric.createFromUpdateAndResult(
      join(IOU, 'step.onnx'),
      join(IOU, 'result.onnx'),
    ),
    /onnxiou update graph/,
  );
});

test('rejects result of other config', async () => {
  await assert.rejects(
    IouMetric.createFromUpdateAndResult(
      join(IOU, 'update.onnx'),
      join(INT64_STATE, 'result.onnx'),
    ),
    /score the update graph's configuration/,
  );
});

test('metadata reader finds contract keys', () => {
  const props = readMetadataProps(
    new Uint8Array(readFileSync(join(IOU, 'result.onnx'))),
  );
  const contractKeys = [
    'onnxiou.config',
    'onnxiou.graph',
    'onnxiou.kernel',
    'onnxiou.metric',
    'onnxiou.num_classes',
    'onnxiou.state_dtype',
    'onnxiou.state_shape',
    'onnxiou.version',
  ];
  for (const key of contractKeys) {
    assert.ok(props.has(key), `missing ${key}`);
  }
  assert.equal(props.get('onnxiou.graph'), 'result');
  assert.equal(props.get('onnxiou.metric'), 'IoU');
  assert.equal(props.get('onnxiou.state_shape'), '[4, 4]');
  assert.equal(props.get('onnxiou.num_classes'), '4');
});
