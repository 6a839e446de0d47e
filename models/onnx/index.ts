/**
 * @module models/onnx
 * ONNX export of gridos's dense networks and a reader of what an ONNX file declares, built on
 * the project's own subset of the ONNX schema (onnx.proto): no ONNX package at run time.
 *
 * @example
 *   const bytes = exportNetwork(net, { modelId: 'feeder-load-24h', version: '2025.01.1' });
 *   const info = inspectOnnx(bytes); // { ok: true, value: OnnxInfo } | { ok: false, error: OnnxError }
 */
export {
  exportNetwork,
  OPSET_VERSION,
  PRODUCER_NAME,
  PRODUCER_VERSION,
  INPUT_FEATURES,
  INPUT_SCALE,
  OUTPUT_NAMES,
  BATCH_DIM,
  META_MODEL_ID,
  META_VERSION,
} from './export.js';
export type { ExportMeta } from './export.js';
export { inspectOnnx } from './inspect.js';
export type { OnnxInfo, OnnxValue, OnnxDim } from './inspect.js';
export { OnnxError } from './errors.js';
export type { OnnxErrorCode, OnnxResult } from './errors.js';
export { IR_VERSION } from './schema.js';
