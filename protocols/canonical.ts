/**
 * Canonical JSON: the one byte string that gridos hashes and signs (proposals, audit records,
 * decision checkpoints). Object keys sorted by UTF-16 code unit (as `Array.prototype.sort`
 * orders strings), no whitespace, strings as `JSON.stringify` escapes them, numbers as
 * JavaScript prints them (`String(n)`, so -0 prints as 0), arrays in order.
 *
 * Reject, don't repair: NaN, Infinity, undefined (as a value, property or array item), holes in
 * arrays, bigints, functions, symbols and objects that are not plain (Date, Map, class
 * instances) are refused through `fail(path, message)`, because a value JSON would drop or change
 * cannot be hashed faithfully. Each caller raises its own subsystem's error.
 *
 * Not the TUF dialect (tuf/canonical-json.ts): that one holds integers only, as TUF metadata does.
 */
export type CanonicalFailure = (path: string, message: string) => Error;

export function canonicalText(value: unknown, fail: CanonicalFailure): string {
  const out: string[] = [];
  write(value, '$', out, fail);
  return out.join('');
}

function write(value: unknown, path: string, out: string[], fail: CanonicalFailure): void {
  switch (typeof value) {
    case 'string':
      out.push(JSON.stringify(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isFinite(value)) throw fail(path, `expected a finite number, got ${value}`);
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
          if (!(i in value)) throw fail(`${path}[${i}]`, 'expected a value, got a hole in the array');
          write(value[i], `${path}[${i}]`, out, fail);
        }
        out.push(']');
        return;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw fail(path, `expected a plain object, got ${(value as object).constructor?.name ?? 'an object'}`);
      const record = value as Record<string, unknown>;
      out.push('{');
      Object.keys(record)
        .sort()
        .forEach((k, i) => {
          if (i > 0) out.push(',');
          out.push(JSON.stringify(k), ':');
          write(record[k], `${path}.${k}`, out, fail);
        });
      out.push('}');
      return;
    }
    default:
      throw fail(path, `JSON cannot hold a ${typeof value}`);
  }
}
