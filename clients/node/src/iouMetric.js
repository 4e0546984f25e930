// A stateful IoU metric over the graphs that onnxiou exports.

import { readFile } from 'node:fs/promises';

import ort from 'onnxruntime-node';

import { parseOnnxiouMetadata, readMetadataProps } from './modelMetadata.js';

/** Dimension name of the class axis of dense inputs, fixed by the contract. */
const CLASS_AXIS = 'classes';

const TYPED_ARRAYS = new Map([
  [BigInt64Array, 'int64'],
  [Int32Array, 'int32'],
  [Uint8Array, 'uint8'],
  [Float32Array, 'float32'],
  [Float64Array, 'float64'],
]);

const STATE_ARRAYS = {
  float64: Float64Array,
  float32: Float32Array,
  int64: BigInt64Array,
};

/**
 * Returns the onnxruntime element type of a typed array.
 *
 * @throws {TypeError} for anything else
 */
export function elementType(data) {
  const type = data == null ? undefined : TYPED_ARRAYS.get(data.constructor);
  if (type === undefined) {
    const got = data == null ? String(data) : data.constructor.name;
    throw new TypeError(
      'Expected a BigInt64Array, Int32Array, Uint8Array, Float32Array or ' +
        `Float64Array, but got ${got}.`,
    );
  }
  return type;
}

function product(dims) {
  return dims.reduce((total, dim) => total * dim, 1);
}

async function openModel(path) {
  const bytes = new Uint8Array(await readFile(path));
  const metadata = parseOnnxiouMetadata(readMetadataProps(bytes));
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
  });
  return { session, metadata, path };
}

function checkGraph(model, kind) {
  if (model.metadata.graph !== kind) {
    throw new Error(
      `Expected ${model.path} to be an onnxiou ${kind} graph, but its metadata ` +
        `onnxiou.graph is "${model.metadata.graph}".`,
    );
  }
}

function checkSameConfig(update, result) {
  const first = update.metadata;
  const second = result.metadata;
  const same =
    first.metric === second.metric &&
    first.configJson === second.configJson &&
    first.stateType === second.stateType &&
    first.numClasses === second.numClasses;
  if (!same) {
    throw new Error(
      `Expected ${result.path} to score the update graph's configuration ` +
        `${first.configJson}, but it was exported for ${second.configJson}.`,
    );
  }
}

/**
 * A stateful IoU metric. It keeps the confusion matrix total_cm in JavaScript
 * memory and feeds it to each run, as docs/graph-contract.md describes. Built
 * from step.onnx, one run per batch both updates the matrix and scores it.
 * Built from update.onnx and result.onnx, updates run the first and result()
 * the second. Calls are queued, so concurrent updates never share a state.
 *
 * Labels and scores are `{data, shape}`: a typed array in C order (BigInt64Array,
 * Int32Array, Uint8Array, Float32Array or Float64Array, as the graph was
 * exported) and its dimensions.
 */
export class IouMetric {
  #updateSession;
  #resultSession;
  #inputs;
  #state;
  #result;
  #perClassIou;
  #dropped;
  #ignored;
  #queue = Promise.resolve();

  /** The models' onnxiou.* metadata, with `config` parsed from JSON. */
  metadata;

  constructor(updateModel, resultSession) {
    this.#updateSession = updateModel.session;
    this.#resultSession = resultSession;
    this.metadata = updateModel.metadata;
    this.#inputs = new Map(
      updateModel.session.inputMetadata.map((input) => [input.name, input]),
    );
    this.#resetState();
  }

  /** Opens a metric over an exported step.onnx. */
  static async create(stepPath) {
    const step = await openModel(stepPath);
    try {
      checkGraph(step, 'step');
    } catch (error) {
      await step.session.release();
      throw error;
    }
    return new IouMetric(step, null);
  }

  /** Opens a metric over an exported update.onnx and result.onnx. */
  static async createFromUpdateAndResult(updatePath, resultPath) {
    const update = await openModel(updatePath);
    let result;
    try {
      result = await openModel(resultPath);
      checkGraph(update, 'update');
      checkGraph(result, 'result');
      checkSameConfig(update, result);
    } catch (error) {
      await update.session.release();
      await result?.session.release();
      throw error;
    }
    return new IouMetric(update, result.session);
  }

  /**
   * Adds a batch to the confusion matrix.
   *
   * @param {{data: ArrayLike, shape: number[]}} yTrue labels
   * @param {{data: ArrayLike, shape: number[]}} yPred class ids or scores
   * @param {ArrayLike<number>} weight 1-D weights: length 1 weighs every pair,
   *   length B (the first dimension of the decoded labels) whole samples,
   *   length N (all pairs, C order) each pair. They are converted to the
   *   state's element type.
   * @throws {TypeError|RangeError} when an argument does not fit the graph;
   *   the state is then unchanged
   */
  update(yTrue, yPred, weight = [1]) {
    return this.#exclusive(async () => {
      const feeds = {
        y_true: this.#inputTensor('yTrue', 'y_true', yTrue),
        y_pred: this.#inputTensor('yPred', 'y_pred', yPred),
        sample_weight: this.#weightTensor(weight, this.#decodedShape(yPred.shape)),
        total_cm: this.#stateTensor(),
      };
      const outputs = await this.#updateSession.run(feeds);
      const dropped = Number(outputs.dropped_weight.data[0]);
      const ignored = Number(outputs.ignored_weight.data[0]);
      if (this.#resultSession === null) {
        this.#readScores(outputs);
      }
      this.#state = outputs.total_cm_out.data.slice();
      this.#dropped += dropped;
      this.#ignored += ignored;
    });
  }

  /** Returns the mean IoU over the target classes present so far (0 if none is). */
  result() {
    return this.#exclusive(async () => {
      await this.#scoreState();
      return this.#result;
    });
  }

  /** Returns TP / (TP + FP + FN) per class as a Float32Array, NaN for 0 / 0. */
  perClassIou() {
    return this.#exclusive(async () => {
      await this.#scoreState();
      return this.#perClassIou.slice();
    });
  }

  /**
   * Returns a copy of the confusion matrix: `{type, data, shape}`, rows true
   * classes, columns predicted classes; data is a BigInt64Array for an int64 state.
   */
  totalCm() {
    const classes = this.metadata.numClasses;
    return {
      type: this.metadata.stateType,
      data: this.#state.slice(),
      shape: [classes, classes],
    };
  }

  /** Summed weight of the pairs dropped for a label outside [0, C) or not finite. */
  get droppedWeight() {
    return this.#dropped;
  }

  /** Summed weight of the pairs whose true label is an ignored class. */
  get ignoredWeight() {
    return this.#ignored;
  }

  /** Forgets every batch, after the calls already queued. */
  reset() {
    return this.#exclusive(async () => this.#resetState());
  }

  /** Releases the onnxruntime sessions; the metric cannot be used afterwards. */
  close() {
    return this.#exclusive(async () => {
      await this.#updateSession.release();
      await this.#resultSession?.release();
    });
  }

  #exclusive(task) {
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => {});
    return run;
  }

  #resetState() {
    const classes = this.metadata.numClasses;
    this.#state = new STATE_ARRAYS[this.metadata.stateType](classes * classes);
    // The contract's scores of the zero matrix, which the step graph only
    // returns after a batch: result 0 and NaN for every class.
    this.#result = 0;
    this.#perClassIou = new Float32Array(classes).fill(Number.NaN);
    this.#dropped = 0;
    this.#ignored = 0;
  }

  #stateTensor() {
    const classes = this.metadata.numClasses;
    return new ort.Tensor(this.metadata.stateType, this.#state.slice(), [
      classes,
      classes,
    ]);
  }

  async #scoreState() {
    if (this.#resultSession === null) {
      return;
    }
    this.#readScores(await this.#resultSession.run({ total_cm: this.#stateTensor() }));
  }

  #readScores(outputs) {
    this.#result = outputs.result.data[0];
    this.#perClassIou = Float32Array.from(outputs.per_class_iou.data);
  }

  #inputTensor(argument, name, value) {
    const declared = this.#inputs.get(name);
    const type = elementType(value?.data);
    const shape = Array.from(value.shape ?? []);
    if (type !== declared.type || shape.length !== declared.shape.length) {
      throw new TypeError(
        `Expected argument \`${argument}\` to be ${declared.type} of rank ` +
          `${declared.shape.length}, as the graph was exported, but got ${type} of ` +
          `shape [${shape}].`,
      );
    }
    if (product(shape) !== value.data.length) {
      throw new RangeError(
        `Expected argument \`${argument}\` to hold ${product(shape)} values ` +
          `for shape [${shape}], but it contains ${value.data.length}.`,
      );
    }
    return new ort.Tensor(type, value.data, shape);
  }

  /** Shape of the predicted labels: y_pred without its class axis, if it has one. */
  #decodedShape(predShape) {
    const classAxis = this.#inputs.get('y_pred').shape.indexOf(CLASS_AXIS);
    return Array.from(predShape).filter((_, axis) => axis !== classAxis);
  }

  #weightTensor(weight, labelShape) {
    const stateType = this.metadata.stateType;
    const values = Array.from(weight, Number);
    const pairs = product(labelShape);
    const samples = labelShape.length > 0 ? labelShape[0] : 1;
    const length = values.length;
    const fits =
      length > 0 && [1, samples, pairs].includes(length) && pairs % length === 0;
    if (!fits) {
      throw new RangeError(
        `Expected argument \`weight\` to have length 1, ${samples} (per sample) or ` +
          `${pairs} (per pair) for labels of shape [${labelShape}], but got length ` +
          `${length}.`,
      );
    }
    for (const value of values) {
      if (
        !Number.isFinite(value) ||
        (stateType === 'int64' && !Number.isInteger(value))
      ) {
        const whole = stateType === 'int64' ? ', whole for an int64 state' : '';
        throw new RangeError(
          `Expected argument \`weight\` to hold finite numbers${whole}, ` +
            `but got ${value}.`,
        );
      }
    }
    const data =
      stateType === 'int64'
        ? BigInt64Array.from(values, (value) => BigInt(value))
        : STATE_ARRAYS[stateType].from(values);
    return new ort.Tensor(stateType, data, [length]);
  }
}
