/**
 * Canonical JSON as TUF signs it (the OLPC dialect, http://wiki.laptop.org/go/Canonical_JSON, as
 * implemented by @tufjs/canonical-json 2.0): object keys sorted by UTF-16 code unit, no
 * whitespace, only `"` and `\` escaped in strings, integers only. Written here so that protocols/
 * stays free of a transitive dependency; the output is byte-identical to tuf-js's for the
 * documents we sign (assignments), which a test pins.
 */
export type CanonicalValue = null | boolean | number | string | CanonicalValue[] | { [key: string]: CanonicalValue | undefined };

/** The canonical text of `value`; throws a TypeError on a float, NaN, undefined in an array or a non-JSON value. */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`canonical JSON holds integers only, got ${value}`);
    return String(value);
  }
  if (typeof value === 'string') return quote(value);
  if (Array.isArray(value)) return `[${value.map((v: unknown) => canonicalJson(v)).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${quote(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new TypeError(`canonical JSON cannot encode a ${typeof value}`);
}

function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
