/** Canonical JSON for audit records (../canonical.ts), refusing with the audit subsystem's error. */
import { canonicalText } from '../canonical.js';

/** A value that canonical JSON can hold. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export class AuditCanonicalError extends Error {
  override readonly name = 'AuditCanonicalError';
  readonly code = 'AUDIT_CANONICAL';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

/** The canonical text of `value`; throws an AuditCanonicalError on anything JSON cannot hold exactly. */
export function auditCanonicalJson(value: unknown): string {
  return canonicalText(value, (path, message) => new AuditCanonicalError(path, message));
}
