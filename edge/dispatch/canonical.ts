/**
 * Canonical JSON, the byte string a proposal's hash is taken over: object keys sorted (by UTF-16
 * code units, as `Array.prototype.sort` does), no whitespace, numbers as JavaScript prints them
 * (`String(n)`; -0 prints as 0), strings as `JSON.stringify` escapes them, arrays in order.
 *
 * Reject, don't repair: NaN, Infinity, undefined (also as an object property or array item),
 * functions, symbols, bigints and objects that are not plain (Date, Map, class instances) throw,
 * naming the path, because a value JSON would silently drop or change cannot be signed.
 */
import { createHash } from 'node:crypto';

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

function write(value: unknown, path: string, out: string[]): void {
  switch (typeof value) {
    case 'string':
      out.push(JSON.stringify(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError(path, `expected a finite number, got ${value}`);
      out.push(String(value));
      return;
    case 'object': {
      if (value === null) {
        out.push('null');
        return;
      }
      if (Array.isArray(value)) {
        out.push('[');
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out.push(',');
          if (!(i in value)) throw new CanonicalJsonError(`${path}[${i}]`, 'expected a value, got a hole in the array');
          write(value[i], `${path}[${i}]`, out);
        }
        out.push(']');
        return;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw new CanonicalJsonError(path, `expected a plain object, got ${(value as object).constructor?.name ?? 'an object'}`);
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      out.push('{');
      keys.forEach((k, i) => {
        if (i > 0) out.push(',');
        out.push(JSON.stringify(k), ':');
        write(record[k], `${path}.${k}`, out);
      });
      out.push('}');
      return;
    }
    default:
      throw new CanonicalJsonError(path, `expected JSON data, got ${typeof value}`);
  }
}

/** The canonical JSON text of `value`; throws CanonicalJsonError on what JSON cannot carry faithfully. */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  write(value, '$', out);
  return out.join('');
}

/** Hex sha256 of the canonical JSON of `value` (UTF-8). */
export function canonicalSha256(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value), 'utf8').digest('hex');
}
