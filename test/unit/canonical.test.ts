import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CanonicalJsonError, canonicalJson, canonicalSha256 } from '../../edge/dispatch/index.js';

describe('canonical JSON', () => {
  it('sorts keys, so key order does not change the text or the hash', () => {
    const a = { b: 1, a: 'x', c: true };
    const b = { c: true, a: 'x', b: 1 };
    expect(canonicalJson(a)).toBe('{"a":"x","b":1,"c":true}');
    expect(canonicalJson(b)).toBe(canonicalJson(a));
    expect(canonicalSha256(b)).toBe(canonicalSha256(a));
  });

  it('sorts keys at every depth and keeps arrays in order', () => {
    const v = { z: [3, 1, { y: null, x: [] }], a: { d: { f: 1, e: 2 }, c: {} } };
    expect(canonicalJson(v)).toBe('{"a":{"c":{},"d":{"e":2,"f":1}},"z":[3,1,{"x":[],"y":null}]}');
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
  });

  it('sorts by UTF-16 code units (upper case before lower case, digits first)', () => {
    expect(canonicalJson({ b: 0, B: 0, '1': 0, a: 0 })).toBe('{"1":0,"B":0,"a":0,"b":0}');
  });

  it('prints numbers as JavaScript does, with -0 as 0', () => {
    expect(canonicalJson([0.1 + 0.2, 1e21, 1e-7, -0, 250, -3.5])).toBe('[0.30000000000000004,1e+21,1e-7,0,250,-3.5]');
  });

  it('escapes strings as JSON and has no whitespace', () => {
    expect(canonicalJson({ 'k "q"': 'line\nbreak é \u2028' })).toBe('{"k \\"q\\"":"line\\nbreak é \u2028"}');
    expect(canonicalJson({ a: [1, { b: 2 }] })).not.toMatch(/\s/);
  });

  it('hashes the UTF-8 bytes of the canonical text', () => {
    const v = { é: 'ü', n: 1 };
    expect(canonicalSha256(v)).toBe(createHash('sha256').update(Buffer.from('{"n":1,"é":"ü"}', 'utf8')).digest('hex'));
  });

  it.each([
    ['NaN', { a: NaN }, '$.a'],
    ['Infinity', { a: [1, Infinity] }, '$.a[1]'],
    ['-Infinity', -Infinity, '$'],
    ['undefined property', { a: { b: undefined } }, '$.a.b'],
    ['undefined item', [undefined], '$[0]'],
    ['a hole', [1, , 2], '$[1]'], // eslint-disable-line no-sparse-arrays
    ['a function', { f: () => 1 }, '$.f'],
    ['a bigint', { n: 1n }, '$.n'],
    ['a Date', { d: new Date(0) }, '$.d'],
    ['a Map', new Map(), '$'],
  ])('refuses %s, naming the path', (_, value, path) => {
    let err: unknown;
    try {
      canonicalJson(value);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CanonicalJsonError);
    expect((err as CanonicalJsonError).code).toBe('EDGE_DISPATCH_CANONICAL');
    expect((err as CanonicalJsonError).path).toBe(path);
  });

  it('accepts objects without a prototype', () => {
    const o = Object.create(null) as Record<string, number>;
    o.b = 2;
    o.a = 1;
    expect(canonicalJson(o)).toBe('{"a":1,"b":2}');
  });
});
