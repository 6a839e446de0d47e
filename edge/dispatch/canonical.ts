/**
 * Canonical JSON (protocols/canonical.ts), the byte string a proposal's hash is taken over,
 * refusing with the dispatch subsystem's error.
 */
import { createHash } from 'node:crypto';
import { canonicalText } from '../../protocols/canonical.js';

export class CanonicalJsonError extends Error {
  override readonly name = 'CanonicalJsonError';
  readonly code = 'EDGE_DISPATCH_CANONICAL';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

/** The canonical JSON text of `value`; throws CanonicalJsonError on what JSON cannot carry faithfully. */
export function canonicalJson(value: unknown): string {
  return canonicalText(value, (path, message) => new CanonicalJsonError(path, message));
}

/** Hex sha256 of the canonical JSON of `value` (UTF-8). */
export function canonicalSha256(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value), 'utf8').digest('hex');
}
