/** Why a payload was refused. Codes are stable: add new ones, never reuse or rename. */
export type ProtocolErrorCode =
  /** Not a protobuf Envelope at all (truncated, corrupted, some other format). */
  | 'PROTO_MALFORMED'
  /** A well-formed envelope of a schema version this build does not speak. */
  | 'PROTO_SCHEMA_VERSION'
  /** The envelope carries no payload, or one this build does not know. */
  | 'PROTO_NO_PAYLOAD'
  /** A field is missing or inconsistent (bad id, mismatched column lengths, ...). */
  | 'PROTO_INVALID_FIELD';

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; error: ProtocolError };
