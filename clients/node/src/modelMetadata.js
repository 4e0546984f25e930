// Reads the metadata_props of an ONNX model straight from its protobuf bytes.
//
// onnxruntime-node 1.31 exposes input and output metadata but not the model's
// custom metadata, so the few fields needed are decoded here: ModelProto field
// 14 (metadata_props) contains StringStringEntryProto messages whose field 1 is
// the key and field 2 the value. Every other field is skipped by wire type.

const METADATA_PROPS_FIELD = 14;
const ENTRY_KEY_FIELD = 1;
const ENTRY_VALUE_FIELD = 2;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** Decodes the varint at `offset` and returns [value, offset after it]. */
function readVarint(bytes, offset) {
  let value = 0;
  let scale = 1;
  for (let position = offset; position < bytes.length; position += 1) {
    const byte = bytes[position];
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      return [value, position + 1];
    }
    scale *= 128;
  }
  throw new Error(`Invalid ONNX model: a varint at byte ${offset} runs past the end.`);
}

/**
 * Calls `visit(fieldNumber, bytes)` for each length-delimited field of a
 * protobuf message, and skips fields of the other wire types.
 */
function forEachLengthDelimited(bytes, visit) {
  let offset = 0;
  while (offset < bytes.length) {
    const [tag, afterTag] = readVarint(bytes, offset);
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    offset = afterTag;
    if (wireType === WIRE_VARINT) {
      [, offset] = readVarint(bytes, offset);
    } else if (wireType === WIRE_FIXED64) {
      offset += 8;
    } else if (wireType === WIRE_FIXED32) {
      offset += 4;
    } else if (wireType === WIRE_LENGTH_DELIMITED) {
      const [length, start] = readVarint(bytes, offset);
      offset = start + length;
      if (offset > bytes.length) {
        throw new Error(`Invalid ONNX model: field ${field} runs past the end.`);
      }
      visit(field, bytes.subarray(start, offset));
    } else {
      throw new Error(
        `Invalid ONNX model: unsupported wire type ${wireType} of field ${field}.`,
      );
    }
  }
}

/**
 * Returns the metadata_props of a serialized ONNX model as a Map of strings.
 *
 * @param {Uint8Array} modelBytes the bytes of a .onnx file
 * @returns {Map<string, string>}
 */
export function readMetadataProps(modelBytes) {
  const props = new Map();
  forEachLengthDelimited(modelBytes, (field, entryBytes) => {
    if (field !== METADATA_PROPS_FIELD) {
      return;
    }
    let key = '';
    let value = '';
    forEachLengthDelimited(entryBytes, (entryField, text) => {
      if (entryField === ENTRY_KEY_FIELD) {
        key = textDecoder.decode(text);
      } else if (entryField === ENTRY_VALUE_FIELD) {
        value = textDecoder.decode(text);
      }
    });
    props.set(key, value);
  });
  return props;
}

function requireKey(props, key) {
  if (!props.has(key)) {
    throw new Error(
      `Expected a model exported by onnxiou, with metadata key ${key}, ` +
        'but the model has none.',
    );
  }
  return props.get(key);
}

/**
 * Parses the onnxiou.* metadata that onnxiou writes into each exported model.
 *
 * @param {Map<string, string>} props metadata_props of the model
 * @returns {{version: string, graph: string, metric: string, config: object,
 *   configJson: string, stateType: string, numClasses: number, kernel: string}}
 */
export function parseOnnxiouMetadata(props) {
  const numClasses = Number.parseInt(requireKey(props, 'onnxiou.num_classes'), 10);
  const stateShape = JSON.parse(requireKey(props, 'onnxiou.state_shape'));
  const square =
    Array.isArray(stateShape) &&
    stateShape.length === 2 &&
    stateShape[0] === numClasses &&
    stateShape[1] === numClasses;
  if (!square) {
    throw new Error(
      `Expected metadata onnxiou.state_shape to be [${numClasses}, ${numClasses}], ` +
        `but got ${props.get('onnxiou.state_shape')}.`,
    );
  }
  const configJson = requireKey(props, 'onnxiou.config');
  return {
    version: requireKey(props, 'onnxiou.version'),
    graph: requireKey(props, 'onnxiou.graph'),
    metric: requireKey(props, 'onnxiou.metric'),
    config: JSON.parse(configJson),
    configJson,
    stateType: requireKey(props, 'onnxiou.state_dtype'),
    numClasses,
    kernel: requireKey(props, 'onnxiou.kernel'),
  };
}
