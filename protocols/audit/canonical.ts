/**
 * Canonical JSON for audit records: object keys sorted by UTF-16 code unit (as
 * `Array.prototype.sort` orders strings), no whitespace, strings as `JSON.stringify` escapes
 * them, numbers as JavaScript prints them (`String(n)`, so -0 prints as 0), arrays in order.
 *
 * Not the TUF dialect in ../tuf/canonical-json.ts: that one holds integers only (audit bodies
 * carry kW and forecasts) and silently skips undefined properties. Reject, don't repair: NaN,
 * Infinity, undefined (as a value, property or array item), bigints, functions, symbols and
 * objects that are not plain (Date, Map, class instances) throw an AuditCanonicalError naming
 * the path, because a value JSON would drop or change cannot be hashed faithfully.
 */

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
  const out: string[] = [];
  write(value, '$', out);
  return out.join('');
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
      if (!Number.isFinite(value)) throw new AuditCanonicalError(path, `expected a finite number, got ${value}`);
      out.push(String(value));
      return;
    case 'object':
      if (value === null) {
        out.push('null');
        return;
      }
      if (Array.isArray(value)) {
        out.push('[');
        value.forEach((item: unknown, i) => {
          if (i > 0) out.push(',');
          write(item, `${path}[${i}]`, out);
        });
        out.push(']');
        return;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) {
        throw new AuditCanonicalError(path, `expected a plain object, got ${value.constructor?.name ?? 'an object'}`);
      }
      writeObject(value as Record<string, unknown>, path, out);
      return;
    default:
      throw new AuditCanonicalError(path, `JSON cannot hold a ${typeof value}`);
  }
}

function writeObject(value: Record<string, unknown>, path: string, out: string[]): void {
  const keys = Object.keys(value).sort();
  out.push('{');
  keys.forEach((key, i) => {
    if (i > 0) out.push(',');
    out.push(JSON.stringify(key), ':');
    write(value[key], `${path}.${key}`, out);
  });
  out.push('}');
}
