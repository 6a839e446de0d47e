import { describe, expect, it } from 'vitest';
import { deflateRawSync } from 'node:zlib';
import protobuf from 'protobufjs';
import {
  MAX_INFLATED_BYTES,
  Quality,
  SCHEMA_VERSION,
  commandTopic,
  decodeEnvelope,
  edgeCommandFilter,
  encodeEnvelope,
  envelope,
  parseTopic,
  toRanges,
  uplinkTopic,
  type Envelope,
  type Reading,
} from '../../protocols/index.js';
import { EnvelopeType } from '../../protocols/schema.js';

const base = { edgeId: 'edge-1', siteId: 'site.A', seq: 42, sentAtMs: 1_700_000_000_123 };

function roundTrip(env: Envelope): Envelope {
  const decoded = decodeEnvelope(encodeEnvelope(env));
  if (!decoded.ok) throw decoded.error;
  return decoded.value;
}

describe('envelope round trip', () => {
  it('telemetry: readings of several tags, qualities and status codes survive exactly', () => {
    const t0 = 1_700_000_000_000;
    const readings: Reading[] = [
      { tagId: 'feeder1.active_power_kw', tsMs: t0, value: 812.125, quality: Quality.Good },
      { tagId: 'feeder1.voltage_pu', tsMs: t0, value: 0.98765, quality: Quality.Good },
      { tagId: 'feeder1.active_power_kw', tsMs: t0 + 1000, value: -3.5e-7, quality: Quality.Uncertain, sourceStatus: 0x40920000 },
      { tagId: 'bess1.soc_pct', tsMs: t0 - 250, value: 61.2, quality: Quality.Bad, sourceStatus: 0x80000000 },
    ];
    const env = envelope({ ...base, payload: { kind: 'telemetry', readings } });
    expect(roundTrip(env)).toEqual(env);
  });

  it('telemetry: an all-good batch omits the quality columns and still decodes as good', () => {
    const readings: Reading[] = [{ tagId: 'a', tsMs: 5, value: 1, quality: Quality.Good }];
    const bytes = encodeEnvelope(envelope({ ...base, payload: { kind: 'telemetry', readings } }));
    const wire = EnvelopeType.decode(bytes) as unknown as { telemetry: { quality: number[] } };
    expect(wire.telemetry.quality).toEqual([]);
    expect(roundTrip(envelope({ ...base, payload: { kind: 'telemetry', readings } })).payload).toEqual({ kind: 'telemetry', readings });
  });

  it('telemetry: an empty batch', () => {
    const env = envelope({ ...base, payload: { kind: 'telemetry', readings: [] } });
    expect(roundTrip(env)).toEqual(env);
  });

  it('birth', () => {
    const env = envelope({
      ...base,
      payload: {
        kind: 'birth',
        birth: {
          agentVersion: '0.1.0',
          configHash: 'ab'.repeat(32),
          startedAtMs: 1_700_000_000_000,
          streamId: '1b4e28ba-2fa1-11d2-883f-0016d3cca427',
          tags: [{ id: 'feeder1.voltage_pu', unit: 'pu', description: 'Feeder 1 voltage', source: 'opcua:substation ns=1;s=Feeder1.Voltage', minValue: 0.8, maxValue: 1.2 }],
          voltageLimits: [],
        },
      },
    });
    expect(roundTrip(env)).toEqual(env);
  });

  it('birth: the voltage limits an edge enforces, per tag; a limit it does not enforce stays absent', () => {
    const birth = { agentVersion: '0.2.0', configHash: 'ab'.repeat(32), startedAtMs: 1_700_000_000_000, streamId: 's-1', tags: [] };
    const voltageLimits = [
      { tagId: 'feeder1.voltage_pu', interlockLowPu: 0.95, interlockHighPu: 1.04, curtailAbovePu: 1.035, releaseBelowPu: 1.025 },
      { tagId: 'feeder2.voltage_pu', interlockHighPu: 1.06 },
    ];
    const env = envelope({ ...base, payload: { kind: 'birth', birth: { ...birth, voltageLimits } } });
    const back = roundTrip(env);
    expect(back).toEqual(env);
    expect(back.payload.kind === 'birth' && Object.keys(back.payload.birth.voltageLimits[1]!)).toEqual(['tagId', 'interlockHighPu']);
    const bad = (limits: object) => decodeEnvelope(EnvelopeType.encode(EnvelopeType.fromObject({ schemaVersion: 1, edgeId: 'e1', siteId: 's1', seq: 1, birth: { ...birth, voltageLimits: [limits] } })).finish());
    for (const [limits, why] of [
      [{ interlockHighPu: 1.05 }, /voltage_limits\[0\]: expected the voltage tag/],
      [{ tag: 'v', interlockLowPu: 1.05, interlockHighPu: 0.95 }, /interlock low 1.05 pu is not below its high 0.95 pu/],
      [{ tag: 'v', curtailAbovePu: 1.03, releaseBelowPu: 1.04 }, /release below 1.04 pu is not below curtail above 1.03 pu/],
      [{ tag: 'v', interlockHighPu: Number.NaN }, /interlockHighPu is NaN/],
      [{ tag: 'v', interlockLowPu: 0 }, /interlockLowPu is 0, expected a per-unit value above 0/],
    ] as const) {
      const r = bad(limits);
      expect(!r.ok && r.error.code, JSON.stringify(limits)).toBe('PROTO_INVALID_FIELD');
      expect(!r.ok && r.error.message).toMatch(why);
    }
  });

  it('birth from an edge older than voltage_limits: understood, with no limits reported', () => {
    // What an older edge writes: the schema as it was before Birth field 6.
    const old = protobuf.parse(`syntax = "proto3"; package gridos.v1;
      message Envelope { uint32 schema_version = 1; string edge_id = 2; string site_id = 3; uint64 seq = 4; int64 sent_at_ms = 5; oneof payload { Birth birth = 11; } }
      message TagInfo { string id = 1; string unit = 2; string description = 3; string source = 4; double min_value = 5; double max_value = 6; }
      message Birth { string agent_version = 1; repeated TagInfo tags = 2; string config_hash = 3; int64 started_at_ms = 4; string stream_id = 5; }`).root.lookupType('gridos.v1.Envelope');
    const tag = { id: 'feeder1.voltage_pu', unit: 'pu', description: 'Feeder 1 voltage', source: 'opcua:substation ns=1;s=Feeder1.Voltage', minValue: 0.8, maxValue: 1.2 };
    const bytes = old.encode(old.fromObject({ ...base, schemaVersion: SCHEMA_VERSION, birth: { agentVersion: '0.1.0', configHash: 'cd'.repeat(32), startedAtMs: 1_700_000_000_000, streamId: 's-0', tags: [tag] } })).finish();
    const d = decodeEnvelope(bytes);
    expect(d.ok && d.value.payload).toEqual({ kind: 'birth', birth: { agentVersion: '0.1.0', configHash: 'cd'.repeat(32), startedAtMs: 1_700_000_000_000, streamId: 's-0', tags: [tag], voltageLimits: [] } });
  });

  it('gap, state and aggregates', () => {
    const gap = envelope({ ...base, payload: { kind: 'gap', gap: { reason: 'outbox_full', droppedSeqs: [{ fromSeq: 3, toSeq: 9 }, { fromSeq: 12, toSeq: 12 }], readings: 7000, fromTsMs: 1_000, toTsMs: 9_000 } } });
    expect(roundTrip(gap)).toEqual(gap);
    const state = envelope({ ...base, seq: 0, payload: { kind: 'state', state: { online: false, reason: 'connection lost', outbox: { messages: 12, bytes: 4096, readings: 9000, oldestMs: 1_700_000_000_000 } } } });
    expect(roundTrip(state)).toEqual(state);
    // With what the edge runs: a policy (expiry known, then unknown) and models; or no policy at all.
    const outbox = { messages: 0, bytes: 0, readings: 0, oldestMs: 0 };
    const policy = { id: 'north-feeders', version: 4, sha256: 'ab'.repeat(32), expiresMs: 1_767_225_600_000, expired: true };
    const models = [
      { target: 'feeder1-load', role: 'active' as const, id: 'feeder-hour-ahead', version: '2026.03.1', sha256: 'cd'.repeat(32) },
      { target: 'feeder1-load', role: 'shadow' as const, id: 'feeder-hour-ahead', version: '2026.04.0', sha256: 'ef'.repeat(32) },
    ];
    for (const runtime of [{ policy, models }, { policy: { ...policy, expiresMs: null, expired: false }, models: [] }, { policy: null, models }]) {
      const withRuntime = envelope({ ...base, seq: 0, payload: { kind: 'state', state: { online: true, reason: 'connected', outbox, runtime } } });
      expect(roundTrip(withRuntime)).toEqual(withRuntime);
    }
    const aggregates = envelope({
      ...base,
      payload: { kind: 'aggregates', aggregates: [{ tagId: 'feeder1.voltage_pu', windowStartMs: 60_000, windowMs: 60_000, mean: 1.01, min: 0.99, max: 1.03, last: 1.02, count: 60 }] },
    });
    expect(roundTrip(aggregates)).toEqual(aggregates);
  });

  it('forecast (with its model and a fallback) and model scores', () => {
    const model = { id: 'dayton-day-ahead', version: '3', sha256: 'ab'.repeat(32), featureBuilderVersion: '1.0.0' };
    const forecast = envelope({
      ...base,
      payload: {
        kind: 'forecast',
        forecast: { target: 'feeder1-load', tag: 'feeder1.active_power', horizon: 'day-ahead', role: 'active', issuedAtMs: 1_700_000_000_000, firstHourMs: 1_700_000_000_000, hourMs: 3_600_000, load: [410.5, 398.25], p10: [380, 370], p90: [440, 430.5], model, fallbackCode: '', fallbackReason: '', latencyUs: 87 },
      },
    });
    expect(roundTrip(forecast)).toEqual(forecast);
    const fallback = envelope({
      ...base,
      payload: { kind: 'forecast', forecast: { target: 't', tag: 'x', horizon: 'hour-ahead', role: 'shadow', issuedAtMs: 1, firstHourMs: 2, hourMs: 60_000, load: [1], p10: [0.9], p90: [1.1], fallbackCode: 'MODEL_HASH_MISMATCH', fallbackReason: 'file changed', latencyUs: 5 } },
    });
    expect(roundTrip(fallback)).toEqual(fallback);
    const scores = envelope({ ...base, payload: { kind: 'scores', atMs: 1_700_000_000_000, scores: [{ target: 'feeder1-load', role: 'shadow', model, horizon: 'day-ahead', n: 168, windowHours: 168, mape: 3.25, mae: 12.5, bias: -1.5 }] } });
    expect(roundTrip(scores)).toEqual(scores);
    const ragged = decodeEnvelope(EnvelopeType.encode(EnvelopeType.fromObject({ schemaVersion: 1, edgeId: 'e1', siteId: 's1', seq: 1, forecast: { load: [1, 2], p10: [1], p90: [1, 2] } })).finish());
    expect(!ragged.ok && ragged.error.code).toBe('PROTO_INVALID_FIELD');
    expect(!ragged.ok && ragged.error.message).toMatch(/2 load values but 1 p10/);
    const garbage = (forecast: object) => decodeEnvelope(EnvelopeType.encode(EnvelopeType.fromObject({ schemaVersion: 1, edgeId: 'e1', siteId: 's1', seq: 1, forecast })).finish());
    const ok = { target: 't', tag: 'x', horizon: 'hour-ahead', role: 'active', hourMs: 3_600_000, load: [1], p10: [1], p90: [1] };
    for (const [fields, why] of [
      [{ horizon: 'week-ahead' }, /expected horizon day-ahead or hour-ahead, got 'week-ahead'/],
      [{ role: 'boss' }, /expected role active or shadow/],
      [{ target: '' }, /expected a target and a tag/],
      [{ load: [], p10: [], p90: [] }, /expected 1 to 168 hourly values, got 0/],
      [{ hourMs: 0 }, /hour_ms/],
      [{ load: [Number.NaN], p10: [1], p90: [1] }, /load\[0\] is NaN/],
    ] as const) {
      const r = garbage({ ...ok, ...fields });
      expect(!r.ok && r.error.code, JSON.stringify(fields)).toBe('PROTO_INVALID_FIELD');
      expect(!r.ok && r.error.message).toMatch(why);
    }
  });

  it('compressed telemetry decodes to the same readings, and is smaller for a real batch', () => {
    const t0 = 1_700_000_000_000;
    const readings: Reading[] = Array.from({ length: 600 }, (_, i) => ({ tagId: `feeder${i % 6}.active_power_kw`, tsMs: t0 + Math.floor(i / 6) * 1000, value: 800 + (i % 13), quality: Quality.Good }));
    const env = envelope({ ...base, payload: { kind: 'telemetry', readings } });
    const plain = encodeEnvelope(env);
    const packed = encodeEnvelope(env, { compress: true });
    expect(packed.length).toBeLessThan(plain.length * 0.6);
    const d = decodeEnvelope(packed);
    expect(d.ok && d.value).toEqual(env);
  });

  it('ack, with sequence numbers beyond 32 bits', () => {
    const env = envelope({ ...base, seq: 0, payload: { kind: 'ack', ack: { fromSeq: 2 ** 40, toSeq: 2 ** 40 + 7 } } });
    expect(roundTrip(env)).toEqual(env);
  });
});

describe('decode errors are typed values', () => {
  const good = encodeEnvelope(envelope({ ...base, payload: { kind: 'ack', ack: { fromSeq: 1, toSeq: 2 } } }));

  it.each([
    ['JSON text', Buffer.from('{"edge":"e1","value":3}')],
    ['truncated envelope', good.subarray(0, good.length - 3)],
    ['random bytes', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x12])],
    ['empty payload', Buffer.alloc(0)],
  ])('%s -> PROTO_MALFORMED', (_name, bytes) => {
    const r = decodeEnvelope(bytes);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('PROTO_MALFORMED');
      expect(r.error.message).toMatch(/not a gridos envelope/);
    }
  });

  it('an unknown schema version is named', () => {
    const bytes = EnvelopeType.encode(EnvelopeType.fromObject({ schemaVersion: 7, edgeId: 'e1', siteId: 's1', seq: 1, ack: { fromSeq: 1, toSeq: 1 } })).finish();
    const r = decodeEnvelope(bytes);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('PROTO_SCHEMA_VERSION');
      expect(r.error.message).toContain('version 7');
      expect(r.error.message).toContain(String(SCHEMA_VERSION));
    }
  });

  it('compressed telemetry that does not inflate, or inflates beyond the limit, is refused', () => {
    const bad = EnvelopeType.encode(EnvelopeType.fromObject({ schemaVersion: 1, edgeId: 'e1', siteId: 's1', seq: 1, compressedTelemetry: { codec: 1, data: Buffer.from('not deflate at all') } })).finish();
    const r = decodeEnvelope(bad);
    expect(!r.ok && r.error.code).toBe('PROTO_MALFORMED');
    expect(!r.ok && r.error.message).toMatch(/does not inflate/);
    const bomb = deflateRawSync(Buffer.alloc(MAX_INFLATED_BYTES + 1024));
    const big = EnvelopeType.encode(EnvelopeType.fromObject({ schemaVersion: 1, edgeId: 'e1', siteId: 's1', seq: 1, compressedTelemetry: { codec: 1, data: bomb } })).finish();
    expect(big.length).toBeLessThan(200_000);
    const rb = decodeEnvelope(big);
    expect(!rb.ok && rb.error.code).toBe('PROTO_MALFORMED');
    const codec = EnvelopeType.encode(EnvelopeType.fromObject({ schemaVersion: 1, edgeId: 'e1', siteId: 's1', seq: 1, compressedTelemetry: { codec: 9, data: bomb } })).finish();
    expect(decodeEnvelope(codec)).toMatchObject({ ok: false, error: { code: 'PROTO_INVALID_FIELD' } });
  });

  it('an envelope without payload', () => {
    const bytes = EnvelopeType.encode(EnvelopeType.fromObject({ schemaVersion: 1, edgeId: 'e1', siteId: 's1', seq: 1 })).finish();
    const r = decodeEnvelope(bytes);
    expect(!r.ok && r.error.code).toBe('PROTO_NO_PAYLOAD');
  });

  it('inconsistent telemetry columns and dangling tag indexes', () => {
    const mk = (telemetry: object) => decodeEnvelope(EnvelopeType.encode(EnvelopeType.fromObject({ schemaVersion: 1, edgeId: 'e1', siteId: 's1', seq: 1, telemetry })).finish());
    const short = mk({ tags: ['a'], tagIndex: [0, 0], tsDeltaMs: [0], values: [1, 2] });
    expect(!short.ok && short.error.code).toBe('PROTO_INVALID_FIELD');
    expect(!short.ok && short.error.message).toMatch(/column lengths/);
    const dangling = mk({ tags: ['a'], tagIndex: [3], tsDeltaMs: [0], values: [1] });
    expect(!dangling.ok && dangling.error.message).toMatch(/refers to tag 3 of 1/);
  });

  it('an invalid edge id (MQTT wildcard) is refused', () => {
    const bytes = EnvelopeType.encode(EnvelopeType.fromObject({ schemaVersion: 1, edgeId: 'e/#', siteId: 's1', seq: 1, ack: {} })).finish();
    const r = decodeEnvelope(bytes);
    expect(!r.ok && r.error.code).toBe('PROTO_INVALID_FIELD');
  });

  it('encoding refuses ids that would break topics', () => {
    expect(() => encodeEnvelope(envelope({ ...base, edgeId: 'a+b', payload: { kind: 'ack', ack: { fromSeq: 1, toSeq: 1 } } }))).toThrow(/invalid edge/);
  });
});

describe('topics', () => {
  it('toRanges merges sequence numbers into sorted contiguous ranges', () => {
    expect(toRanges([5, 1, 2, 3, 9, 10, 3])).toEqual([
      { fromSeq: 1, toSeq: 3 },
      { fromSeq: 5, toSeq: 5 },
      { fromSeq: 9, toSeq: 10 },
    ]);
    expect(toRanges([])).toEqual([]);
  });

  it('builds and parses uplink and command topics', () => {
    expect(uplinkTopic('site-1', 'edge-1', 'telemetry')).toBe('gridos/v1/site-1/edge-1/telemetry');
    expect(commandTopic('site-1', 'edge-1', 'ack')).toBe('gridos/v1/site-1/edge-1/cmd/ack');
    expect(edgeCommandFilter('site-1', 'edge-1')).toBe('gridos/v1/site-1/edge-1/cmd/+');
    expect(parseTopic('gridos/v1/site-1/edge-1/birth')).toEqual({ direction: 'uplink', siteId: 'site-1', edgeId: 'edge-1', kind: 'birth' });
    expect(parseTopic('gridos/v1/site-1/edge-1/cmd/ack')).toEqual({ direction: 'command', siteId: 'site-1', edgeId: 'edge-1', kind: 'ack' });
  });

  it.each(['gridos/v2/s/e/telemetry', 'gridos/v1/s/e/unknown', 'gridos/v1/s/e', 'other/v1/s/e/telemetry', 'gridos/v1/s/e/cmd/reboot', 'gridos/v1/s/e/telemetry/extra'])(
    'rejects %s',
    (topic) => expect(parseTopic(topic)).toBeUndefined(),
  );

  it('refuses ids with MQTT wildcards or separators', () => {
    expect(() => uplinkTopic('site/1', 'edge', 'telemetry')).toThrow(/site id/);
    expect(() => commandTopic('site', '#', 'ack')).toThrow(/edge id/);
  });
});
