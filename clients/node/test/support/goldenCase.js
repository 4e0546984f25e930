// Reads cases of the golden catalogue (tests/golden/) written by
// tools/make_golden.py.

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CATALOGUE = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  '..',
  'tests',
  'golden',
);

const ARRAYS = {
  int64: BigInt64Array,
  int32: Int32Array,
  uint8: Uint8Array,
  float32: Float32Array,
  float64: Float64Array,
};

// case.json spells non-finite input floats as strings, which JSON lacks.
const NON_FINITE = { NaN: Number.NaN, Infinity: Infinity, '-Infinity': -Infinity };

function toNumber(value) {
  if (typeof value !== 'string') {
    return value;
  }
  if (!(value in NON_FINITE)) {
    throw new RangeError(
      `Expected a number, "NaN", "Infinity" or "-Infinity", but got "${value}".`,
    );
  }
  return NON_FINITE[value];
}

/** Converts {dtype, shape, data} to {type, data: typed array, shape}. */
export function toTensor(entry) {
  const ArrayType = ARRAYS[entry.dtype];
  if (ArrayType === undefined) {
    throw new RangeError(`Unsupported dtype "${entry.dtype}" in the catalogue.`);
  }
  const data =
    entry.dtype === 'int64'
      ? BigInt64Array.from(entry.data, (value) => BigInt(value))
      : ArrayType.from(entry.data, toNumber);
  return { type: entry.dtype, data, shape: entry.shape };
}

export function caseIds() {
  return JSON.parse(readFileSync(join(CATALOGUE, 'index.json'), 'utf8')).cases;
}

/** Loads one case, with `fractionalWeights` true when any weight is not whole. */
export function loadCase(id) {
  const folder = join(CATALOGUE, id);
  const raw = JSON.parse(readFileSync(join(folder, 'case.json'), 'utf8'));
  const batches = raw.batches.map((batch) => ({
    yTrue: toTensor(batch.y_true),
    yPred: toTensor(batch.y_pred),
    weight: toTensor(batch.sample_weight),
  }));
  const fractionalWeights = raw.batches.some((batch) =>
    batch.sample_weight.data.some((value) => !Number.isInteger(value)),
  );
  return { ...raw, folder, batches, fractionalWeights };
}
