// onnxiou's exported IoU metric graphs, run with onnxruntime-node.

export { IouMetric, elementType } from './iouMetric.js';
export { parseOnnxiouMetadata, readMetadataProps } from './modelMetadata.js';
