/**
 * The Sparkplug B fast decoder (protocols/sparkplug/fast-decode.ts) against protobufjs, the
 * reference: on random valid payloads it must decode every one, exactly as protobufjs does;
 * on mutated and truncated bytes, whatever it decodes must equal protobufjs's result, and
 * whatever it gives up on goes to protobufjs (so decodePayload answers as protobufjs alone would).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DataType, decodePayload, encodePayload, type Metric, type Payload } from '../../protocols/sparkplug/index.js';
import { fastDecodePayload } from '../../protocols/sparkplug/fast-decode.js';
import { decodePayloadWithProtobufjs } from '../../protocols/sparkplug/sparkplug.js';
import { DataWriter } from '../../simulators/sparkplug/data-writer.js';

const SEED = 20_261_203;

const uint64 = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 2 ** 48 }), fc.constant(2 ** 49 - 1), fc.constant(2 ** 49), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
const scalar: fc.Arbitrary<Pick<Metric, 'datatype' | 'value'>> = fc.oneof(
  fc.record({ datatype: fc.constant(DataType.Double), value: fc.double() }),
  fc.record({ datatype: fc.constant(DataType.Float), value: fc.float() }),
  fc.record({ datatype: fc.constantFrom(DataType.Int8, DataType.Int16, DataType.Int32, DataType.UInt32), value: fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }) }),
  fc.record({ datatype: fc.constantFrom(DataType.Int64, DataType.UInt64, DataType.DateTime), value: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }) }),
  fc.record({ datatype: fc.constant(DataType.Boolean), value: fc.boolean() }),
  fc.record({ datatype: fc.constantFrom(DataType.String, DataType.Text), value: fc.string({ unit: 'binary' }) }),
  fc.record({ datatype: fc.constant(DataType.Bytes), value: fc.uint8Array({ maxLength: 20 }) }),
);
const metric: fc.Arbitrary<Metric> = fc
  .tuple(
    fc.record({ name: fc.string({ unit: 'binary', maxLength: 30 }), alias: uint64, timestampMs: uint64, isHistorical: fc.boolean(), isNull: fc.boolean() }, { requiredKeys: [] }),
    fc.option(scalar, { nil: undefined }),
  )
  .map(([m, v]) => ({ ...m, ...(v ?? {}) }));
const payload: fc.Arbitrary<Payload> = fc.record({ timestampMs: fc.option(uint64, { nil: undefined }), seq: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }), metrics: fc.array(metric, { maxLength: 12 }) }).map((p) => {
  const out: Payload = { metrics: p.metrics };
  if (p.timestampMs !== undefined) out.timestampMs = p.timestampMs;
  if (p.seq !== undefined) out.seq = p.seq;
  return out;
});
const bytesOf = (p: Payload): Buffer => Buffer.from(encodePayload(p));
/** Decoding through protobufjs alone, as a plain value to compare. */
const reference = (b: Buffer) => decodePayloadWithProtobufjs(b);

describe('Sparkplug B fast decoder', () => {
  it('decodes random valid payloads exactly as protobufjs does (uint64 beyond 49 bits goes to protobufjs)', () => {
    fc.assert(
      fc.property(payload, (p) => {
        const b = bytesOf(p);
        const ref = reference(b);
        expect(ref.ok).toBe(true);
        const fast = fastDecodePayload(b);
        const big = [p.timestampMs, ...p.metrics.flatMap((m) => [m.alias, m.timestampMs, m.datatype !== undefined && typeof m.value === 'bigint' ? Number(BigInt.asUintN(64, m.value)) : 0])].some((v) => v !== undefined && v >= 2 ** 49);
        if (!big) expect(fast).toBeDefined();
        if (fast !== undefined) expect(fast).toEqual(ref.ok && ref.value);
        expect(decodePayload(b)).toEqual(ref);
      }),
      { seed: SEED, numRuns: 2_000 },
    );
  });

  it('on mutated, truncated and random bytes: what it decodes equals protobufjs, the rest is protobufjs\'s answer', () => {
    const mutated = fc.tuple(payload, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat()).map(([p, flips, cut]) => {
      const b = bytesOf(p);
      for (const [at, v] of flips) if (b.length > 0) b[at % b.length] = v;
      return b.subarray(0, b.length === 0 ? 0 : b.length - (cut % Math.min(3, b.length)));
    });
    const random = fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u));
    let decodedFast = 0;
    fc.assert(
      fc.property(fc.oneof(mutated, random), (b) => {
        const ref = reference(b);
        const fast = fastDecodePayload(b);
        if (fast !== undefined) {
          decodedFast++;
          expect(ref).toEqual({ ok: true, value: fast });
        }
        expect(decodePayload(b)).toEqual(ref);
      }),
      { seed: SEED, numRuns: 5_000 },
    );
    expect(decodedFast).toBeGreaterThan(0);
  });

  it('reads the simulator\'s DDATA (written without protobufjs) on the fast path', () => {
    const w = new DataWriter().begin(1_700_000_000_000);
    w.metric(7, 1_700_000_000_001, DataType.Double, 230.5);
    w.metric(8, 1_700_000_000_001, DataType.Int32, -3);
    w.metric(9, 1_700_000_000_001, DataType.Boolean, 1);
    const b = w.finish(42);
    const fast = fastDecodePayload(b);
    expect(fast).toEqual(reference(b).ok && (reference(b) as { value: Payload }).value);
    expect(fast?.metrics.map((m) => m.value)).toEqual([230.5, 2 ** 32 - 3, true]);
  });
});
