/**
 * The TelemetryBatch writer (protocols/telemetry-writer.ts) against protobufjs: for random
 * readings (qualities, status codes, flags, timestamps in any order, tag names of any script)
 * it writes the very bytes protobufjs writes for packReadings(readings), or declines (then the
 * codec uses protobufjs); and compressed telemetry still decodes to the readings.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEnvelope, envelope, Quality, type Reading } from '../../protocols/index.js';
import { packReadings } from '../../protocols/codec.js';
import { TelemetryBatchType } from '../../protocols/schema.js';
import { writeTelemetryBatch } from '../../protocols/telemetry-writer.js';

const SEED = 20_261_203;
const reading: fc.Arbitrary<Reading> = fc
  .record({
    tagId: fc.oneof(fc.constantFrom('feeder1.p_kw', 'feeder2.q_kvar', 'bay.ä€𝄞'), fc.string({ minLength: 1, maxLength: 20 })),
    tsMs: fc.oneof(fc.integer({ min: 1_700_000_000_000, max: 1_700_000_100_000 }), fc.integer({ min: 0, max: 2 ** 40 }), fc.constant(0)),
    value: fc.double(),
    quality: fc.oneof(fc.constant(Quality.Good), fc.constantFrom(Quality.Good, Quality.Uncertain, Quality.Bad, Quality.Stale)),
    sourceStatus: fc.option(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffffffff })), { nil: undefined }),
    flags: fc.option(fc.integer({ min: 0, max: 31 }), { nil: undefined }),
  })
  .map((r) => {
    const out: Reading = { tagId: r.tagId, tsMs: r.tsMs, value: r.value, quality: r.quality };
    if (r.sourceStatus !== undefined) out.sourceStatus = r.sourceStatus;
    if (r.flags !== undefined) out.flags = r.flags;
    return out;
  });
const protobufjsBytes = (readings: readonly Reading[]) => Buffer.from(TelemetryBatchType.encode(TelemetryBatchType.fromObject(packReadings(readings))).finish());

describe('TelemetryBatch writer', () => {
  it('writes the bytes protobufjs writes', () => {
    fc.assert(
      fc.property(fc.array(reading, { maxLength: 60 }), (readings) => {
        const mine = writeTelemetryBatch(readings);
        expect(mine).toBeDefined();
        expect(Buffer.from(mine!).equals(protobufjsBytes(readings))).toBe(true);
      }),
      { seed: SEED, numRuns: 2_000 },
    );
  });

  it('declines what it cannot write exactly (negative or fractional ms, codes beyond uint32)', () => {
    const r: Reading = { tagId: 't', tsMs: 1_000, value: 1, quality: Quality.Good };
    expect(writeTelemetryBatch([{ ...r, tsMs: -5 }])).toBeUndefined();
    expect(writeTelemetryBatch([r, { ...r, tsMs: 1_000.5 }])).toBeUndefined();
    expect(writeTelemetryBatch([{ ...r, quality: Quality.Bad, sourceStatus: -1 }])).toBeUndefined();
  });

  it('compressed telemetry round-trips, through the writer or protobufjs', () => {
    fc.assert(
      fc.property(fc.array(reading, { maxLength: 40 }), fc.integer({ min: -3, max: 3 }), (readings, shift) => {
        const given = readings.map((r, i) => (i === 0 && shift < 0 ? { ...r, tsMs: shift } : r));
        const wire = encodeEnvelope(envelope({ edgeId: 'e1', siteId: 's1', seq: 1, sentAtMs: 1, payload: { kind: 'telemetry', readings: given } }), { compress: true });
        const back = decodeEnvelope(wire);
        // a status or flags of 0 is the same as none on the wire
        const expected = given.map(({ sourceStatus, flags, ...r }) => ({ ...r, ...(sourceStatus ? { sourceStatus } : {}), ...(flags ? { flags } : {}) }));
        expect(back.ok && back.value.payload).toEqual({ kind: 'telemetry', readings: expected });
      }),
      { seed: SEED, numRuns: 500 },
    );
  });
});
