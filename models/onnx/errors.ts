/** Why a network could not be exported or an ONNX file could not be read. Codes are stable. */
export type OnnxErrorCode =
  /** Not an ONNX model at all: not protobuf, truncated, or missing what every model has. */
  | 'MODEL_ONNX_MALFORMED'
  /** A well-formed model using something gridos does not handle (non-tensor inputs, ...). */
  | 'MODEL_ONNX_UNSUPPORTED'
  /** The DenseNetwork or export metadata handed to the exporter is inconsistent. */
  | 'MODEL_NETWORK_INVALID';

export class OnnxError extends Error {
  override readonly name = 'OnnxError';
  constructor(
    readonly code: OnnxErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export type OnnxResult<T> = { ok: true; value: T } | { ok: false; error: OnnxError };
