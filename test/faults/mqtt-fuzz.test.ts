/**
 * Fuzzing the MQTT sources through a real mosquitto: 100,000 random and mutated payloads, seeded
 * (fast-check) so a failure replays. What it proves:
 *  - the agent (in this process) never throws: no uncaught exception, no unhandled rejection;
 *  - every message is accounted for by the source's stats(): `messages` equals what reached its
 *    topics, every message either produced readings (seen on readings$) or is in
 *    `messagesRefused` or carried nothing to read (a death, a command), the `rejected` reasons
 *    are from the documented set and sum to at least `messagesRefused`; for the plain JSON source
 *    the counts per reason equal a reference written from json-mapping.ts's documented rules,
 *    for the Sparkplug source the topic and decode refusals equal what the test predicts;
 *  - valid traffic next to it is unaffected: every metric a simulated Sparkplug node (gw1)
 *    published, and every valid JSON message, is stored exactly once.
 * Two small deterministic cases pin down contracts the big run can only see statistically:
 * a refused message is counted under a reason, and refused messages are acknowledged (the
 * broker does not stall behind them).
 * Nothing is mocked. The broker is mosquitto with max_inflight_messages raised to 1000 (the way
 * the source's docs say to take high rates: with the default 20 and the 20 ms group commit, the
 * held PUBACKs cap one source at ~1,000 messages/s, and 100k would take ~100 s).
 */
import fc from 'fast-check';
import mqtt, { type MqttClient } from 'mqtt';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeConfigSchema, validateConfig } from '../../config/index.js';
import { startAgent, type Agent } from '../../edge/index.js';
import { Quality } from '../../protocols/index.js';
import { BDSEQ_METRIC, DataType, decodePayload, encodePayload, type Metric, type Payload } from '../../protocols/sparkplug/index.js';
import { sparkplugNodeDefaults, startSparkplugNode, type SparkplugNode } from '../../simulators/index.js';
import { captureLogger } from '../helpers/logger.js';
import { mosquittoBinary } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

const SEED = 20_240_611;
const TOTAL = 100_000;
const SPARKPLUG_SHARE = 0.7;
const GROUP = 'fuzz';
const VALID_JSON = 2_000;

/** Reasons the sources document (sparkplug-session.ts SparkplugReject, mqtt-source.ts, json-mapping.ts JsonReject). */
const SPARKPLUG_REASONS = new Set(['not_sparkplug_topic', 'malformed_payload', 'data_before_birth', 'seq_gap', 'unknown_alias', 'unmapped_metric', 'null_value', 'unsupported_datatype', 'type_mismatch', 'missing_seq']);
const JSON_REASONS = new Set(['unmatched_topic', 'malformed_json', 'missing_field', 'bad_timestamp']);

// ---------------------------------------------------------------- broker with a big in-flight window

interface Broker {
  url: string;
  stop(): Promise<void>;
}

async function startBroker(): Promise<Broker> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gridos-fuzz-mosquitto-'));
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\nmax_queued_messages 200000\nmax_inflight_messages 1000\n`);
  const proc: ChildProcess = spawn(mosquittoBinary(), ['-c', conf], { stdio: 'ignore' });
  await waitFor(`mosquitto on ${port}`, () => new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
    s.on('error', () => resolve(false));
  }), 10_000, 50);
  return {
    url: `mqtt://127.0.0.1:${port}`,
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

// ---------------------------------------------------------------- what the fuzzer throws

const TYPES = ['NBIRTH', 'NDEATH', 'DBIRTH', 'DDEATH', 'NDATA', 'DDATA'] as const;
const CHARS = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.:$ éü'];
const segment = fc.string({ unit: fc.constantFrom(...CHARS), minLength: 0, maxLength: 10 }).filter((s) => s !== 'gw1');
const nodeId = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 19 }).map((i) => `fz${i}`) }, { weight: 1, arbitrary: segment.filter((s) => s.length > 0) });
const deviceId = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('d0', 'd1', 'd2') }, { weight: 1, arbitrary: segment });
const metricName = fc.oneof(fc.constantFrom('m/a', 'm/b', 'm/c', 'Node Control/Rebirth', BDSEQ_METRIC), fc.string({ maxLength: 80 }));
const tsMs = fc.oneof(fc.integer({ min: Date.now() - 3_600_000, max: Date.now() + 3_600_000 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
const datatype = fc.oneof(fc.constantFrom(DataType.Double, DataType.Float, DataType.Int32, DataType.Int64, DataType.Boolean, DataType.String), fc.integer({ min: 0, max: 30 })).map((d) => d as DataType);
const value = fc.oneof(fc.double(), fc.integer(), fc.boolean(), fc.string({ maxLength: 20 }), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }), fc.uint8Array({ maxLength: 8 }));
const metric: fc.Arbitrary<Metric> = fc.record(
  { name: metricName, alias: fc.integer({ min: 0, max: 50 }), timestampMs: tsMs, datatype, isNull: fc.boolean(), value },
  { requiredKeys: [] },
);
const validPayload: fc.Arbitrary<{ type: (typeof TYPES)[number]; payload: Payload }> = fc.oneof(
  fc.record({ type: fc.constant('NBIRTH' as const), payload: fc.record({ timestampMs: tsMs, seq: fc.constant(0), metrics: fc.array(metric, { maxLength: 6 }).map((m) => [{ name: BDSEQ_METRIC, datatype: DataType.Int64, value: 1 }, ...m]) }) }),
  fc.record({ type: fc.constant('DBIRTH' as const), payload: fc.record({ timestampMs: tsMs, seq: fc.integer({ min: 0, max: 255 }), metrics: fc.array(metric, { maxLength: 6 }) }) }),
  fc.record({ type: fc.constantFrom('DDATA' as const, 'NDATA' as const), payload: fc.record({ timestampMs: tsMs, seq: fc.integer({ min: 0, max: 260 }), metrics: fc.array(metric, { maxLength: 8 }) }, { requiredKeys: ['metrics'] }) }),
  fc.record({ type: fc.constantFrom('NDEATH' as const, 'DDEATH' as const), payload: fc.record({ metrics: fc.constant<Metric[]>([{ name: BDSEQ_METRIC, datatype: DataType.Int64, value: 1 }]), seq: fc.integer({ min: 0, max: 255 }) }, { requiredKeys: ['metrics'] }) }),
);

function mutate(bytes: Uint8Array, how: { kind: number; a: number; b: number; c: number; extra: Uint8Array; flips: number[] }): Uint8Array {
  const n = bytes.length;
  const at = (x: number) => (n === 0 ? 0 : x % (n + 1));
  switch (how.kind) {
    case 0: { // bit flips
      const out = Uint8Array.from(bytes);
      for (const f of how.flips) if (n > 0) out[f % n]! ^= 1 << (f % 8);
      return out;
    }
    case 1: return bytes.subarray(0, at(how.a)); // truncation
    case 2: return Uint8Array.from([...bytes, ...how.extra]); // extension
    case 3: { // swap two adjacent ranges (moves fields past each other)
      const [x, y, z] = [at(how.a), at(how.b), at(how.c)].sort((p, q) => p - q) as [number, number, number];
      return Uint8Array.from([...bytes.subarray(0, x), ...bytes.subarray(y, z), ...bytes.subarray(x, y), ...bytes.subarray(z)]);
    }
    case 4: { // a random run of bytes written over the middle
      const out = Uint8Array.from(bytes);
      out.set(how.extra.subarray(0, Math.max(0, n - at(how.a))), Math.min(at(how.a), n));
      return out;
    }
    default: return bytes; // unmutated: valid traffic of the fuzz nodes
  }
}
const mutation = fc.record({ kind: fc.integer({ min: 0, max: 5 }), a: fc.nat(), b: fc.nat(), c: fc.nat(), extra: fc.uint8Array({ maxLength: 48 }), flips: fc.array(fc.nat(), { minLength: 1, maxLength: 6 }) });

/** Tag, wire type and bytes that look like protobuf, lengths often lying. */
const protobufish = fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 16 }), fc.nat(64)), { maxLength: 12 }).map((fields) => {
  const out: number[] = [];
  for (const [field, wire, body, len] of fields) {
    out.push(((field << 3) | wire) & 0xff);
    if (field > 15) out.push(field >> 4);
    if (wire === 2) out.push(len);
    out.push(...body);
  }
  return Uint8Array.from(out);
});

/** The codec refuses some random value/data type pairs (a bigint as a Double): send those metrics without a value. */
function encode(p: Payload): Uint8Array {
  try {
    return encodePayload(p);
  } catch {
    return encodePayload({ ...p, metrics: p.metrics.map(({ value: _value, ...m }) => m) });
  }
}

const sparkplugTopicFor = (type: string, node: string, device: string) => `spBv1.0/${GROUP}/${type}/${node}${type.startsWith('D') ? `/${device}` : ''}`;
const sparkplugMessage: fc.Arbitrary<{ topic: string; payload: Uint8Array }> = fc.oneof(
  // fully random bytes on a well-formed topic
  fc.record({ topic: fc.tuple(fc.constantFrom(...TYPES), nodeId, deviceId).map(([t, n, d]) => sparkplugTopicFor(t, n, d)), payload: fc.uint8Array({ maxLength: 300 }) }),
  // protobuf-ish bytes
  fc.record({ topic: fc.tuple(fc.constantFrom(...TYPES), nodeId, deviceId).map(([t, n, d]) => sparkplugTopicFor(t, n, d)), payload: protobufish }),
  // mutations of valid births, data and deaths (the heaviest share)
  { weight: 4, arbitrary: fc.tuple(validPayload, nodeId, deviceId, mutation).map(([v, n, d, m]) => ({ topic: sparkplugTopicFor(v.type, n, d), payload: mutate(encode(v.payload), m) })) },
  // valid payloads on random topics under the group (4 or 5 levels: what the source subscribes to)
  fc.record({ topic: fc.tuple(segment, segment, fc.option(segment, { nil: undefined })).map(([a, b, c]) => `spBv1.0/${GROUP}/${a}/${b}${c === undefined ? '' : `/${c}`}`).filter((t) => t.split('/')[3] !== 'gw1'), payload: validPayload.map((v) => encode(v.payload)) }),
);

const jsonTs = fc.oneof(fc.integer({ min: Date.now() - 3_600_000, max: Date.now() }), fc.double(), fc.string({ maxLength: 30 }), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.constant(null), fc.boolean(), fc.array(fc.nat(), { maxLength: 2 }));
const jsonMessage: fc.Arbitrary<{ topic: string; payload: Uint8Array }> = fc.record({
  topic: fc.array(segment.filter((s) => s.length > 0), { minLength: 1, maxLength: 3 }).map((p) => `plant/fuzz/${p.join('/')}`),
  payload: fc.oneof(
    fc.uint8Array({ maxLength: 120 }),
    fc.string({ maxLength: 60 }).map((s) => `{${s}`),
    fc.json({ maxDepth: 3 }),
    fc.record({ ts: jsonTs, v: fc.jsonValue({ maxDepth: 2 }), m: fc.oneof(fc.record({ x: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] }), fc.jsonValue({ maxDepth: 1 })) }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  ).map((p) => (typeof p === 'string' ? new TextEncoder().encode(p) : p)),
});

// ---------------------------------------------------------------- references (from the documented rules)

/** A Sparkplug B topic by the specification: spBv1.0/group/TYPE/node[/device], device exactly for D* types. */
function isSparkplugTopic(topic: string): boolean {
  const p = topic.split('/');
  if (p.length < 4 || p.length > 5 || p[0] !== 'spBv1.0' || p[1] === '' || p[3] === '') return false;
  if (!['NBIRTH', 'NDEATH', 'DBIRTH', 'DDEATH', 'NDATA', 'DDATA', 'NCMD', 'DCMD'].includes(p[2]!)) return false;
  return p[2]!.startsWith('D') ? p.length === 5 && p[4] !== '' : p.length === 4;
}

const FUZZ_TAGS = [{ id: 'fuzz.v', path: 'v' }, { id: 'fuzz.x', path: 'm.x' }];
interface JsonExpect { readings: number; reasons: Record<string, number> }
/** json-mapping.ts's header: not JSON, or no timestamp, gives no reading and a reason; a missing field, a reason for that tag; anything else a reading (NaN when not a number). */
function expectJson(payload: Uint8Array): JsonExpect {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    return { readings: 0, reasons: { malformed_json: 1 } };
  }
  const at = (path: string): unknown => path.split('.').reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), doc);
  const ts = at('ts');
  const t = typeof ts === 'number' ? ts : typeof ts === 'string' ? Date.parse(ts) : Number.NaN;
  if (!Number.isFinite(t)) return { readings: 0, reasons: { bad_timestamp: 1 } };
  const missing = FUZZ_TAGS.filter((tag) => at(tag.path) === undefined).length;
  return { readings: FUZZ_TAGS.length - missing, reasons: missing > 0 ? { missing_field: missing } : {} };
}

// ---------------------------------------------------------------- the run

const dir = mkdtempSync(join(tmpdir(), 'gridos-fuzz-'));
const { logger } = captureLogger('error');
const crashes: unknown[] = [];
const onCrash = (e: unknown): void => void crashes.push(e);
let broker: Broker;

function agentConfig(edgeId: string, sources: unknown[]) {
  return validateConfig(edgeConfigSchema, { edge: { id: edgeId, site: 'site-fuzz' }, hub: { mqttUrl: 'mqtt://127.0.0.1:1' }, storage: { dataDir: join(dir, edgeId) }, sources }, 'test');
}

async function publisher(id: string): Promise<MqttClient> {
  const c = mqtt.connect(broker.url, { clientId: `${id}-${process.pid}`, reconnectPeriod: 0 });
  await new Promise<void>((resolve, reject) => { c.once('connect', () => resolve()); c.once('error', reject); });
  return c;
}

const sum = (o: Record<string, number>): number => Object.values(o).reduce((a, b) => a + b, 0);

beforeAll(async () => {
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  broker = await startBroker();
});

afterAll(async () => {
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
  await broker?.stop();
});

describe('MQTT sources under fuzzing', () => {
  it(`${TOTAL} random and mutated payloads: no crash, every one counted, valid traffic beside them stored exactly once`, { timeout: 120_000 }, async () => {
    const agent: Agent = await startAgent(
      agentConfig('edge-fuzz', [
        { kind: 'sparkplug', name: 'spb', url: broker.url, group: GROUP, discover: true },
        {
          kind: 'mqtt', name: 'json', url: broker.url,
          topics: [
            { filter: 'plant/valid/+', timestampPath: 'ts', tags: [{ id: 'valid.p', path: 'p' }] },
            { filter: 'plant/fuzz/#', timestampPath: 'ts', tags: [{ id: 'fuzz.v', path: 'v' }, { id: 'fuzz.x', path: 'm.x', scale: 2 }] },
          ],
        },
      ]),
      { logger },
    );
    const [spb, json] = agent.sources as [Agent['sources'][number], Agent['sources'][number]];
    const emitted = { spb: 0, json: 0 };
    // Messages that gave readings (a QoS 1 source also emits an empty batch for a message with
    // nothing to store, so that its acknowledgement follows the next commit).
    spb.readings$.subscribe((b) => void (b.length > 0 && emitted.spb++));
    json.readings$.subscribe((b) => void (b.length > 0 && emitted.json++));
    // Every NCMD in the group: the source's own rebirth requests come back to it (it subscribes to spBv1.0/fuzz/+/+).
    const observer = await publisher('fuzz-observer');
    let ncmds = 0;
    observer.on('message', () => void ncmds++);
    await observer.subscribeAsync(`spBv1.0/${GROUP}/NCMD/+`, { qos: 1 });
    let node: SparkplugNode | undefined;
    const pub = await publisher('fuzzer');
    try {
      await agent.sourcesReady;
      node = await startSparkplugNode({ ...sparkplugNodeDefaults, url: broker.url, group: GROUP, node: 'gw1', devices: 2, metricsPerDevice: 20, batchSize: 10, ratePerSec: 400, logger });

      const started = performance.now();
      const nSpb = Math.round(TOTAL * SPARKPLUG_SHARE);
      const spbMessages = fc.sample(sparkplugMessage, { seed: SEED, numRuns: nSpb });
      const jsonMessages = fc.sample(jsonMessage, { seed: SEED + 1, numRuns: TOTAL - nSpb });
      const expected = { spbTopic: 0, spbMalformed: 0, spbDecodable: 0, json: { readings: 0, emitting: 0, refused: 0, reasons: {} as Record<string, number> } };
      for (const m of spbMessages) {
        if (!isSparkplugTopic(m.topic)) expected.spbTopic++;
        else if (!decodePayload(m.payload).ok) expected.spbMalformed++;
        else expected.spbDecodable++;
      }
      for (const m of jsonMessages) {
        const e = expectJson(m.payload);
        expected.json.readings += e.readings;
        if (e.readings > 0) expected.json.emitting++;
        else if (sum(e.reasons) > 0) expected.json.refused++;
        for (const [r, n] of Object.entries(e.reasons)) expected.json.reasons[r] = (expected.json.reasons[r] ?? 0) + n;
      }
      const generatedMs = performance.now() - started;

      // Interleave both streams and the valid JSON traffic; keep the broker's backlog for the agent bounded.
      // Valid JSON messages are stamped when sent (a sensor with a synchronised clock), unique and increasing.
      const all: { topic: string; payload: Uint8Array | number }[] = [];
      const validEvery = Math.floor(TOTAL / VALID_JSON);
      let validSent = 0;
      let lastValidTs = 0;
      const validPayload = (n: number): Uint8Array => new TextEncoder().encode(JSON.stringify({ ts: (lastValidTs = Math.max(lastValidTs + 1, Date.now())), p: n }));
      for (let i = 0, s = 0, j = 0; i < TOTAL; i++) {
        all.push(i % 10 < SPARKPLUG_SHARE * 10 && s < spbMessages.length ? spbMessages[s++]! : j < jsonMessages.length ? jsonMessages[j++]! : spbMessages[s++]!);
        if (i % validEvery === 0 && validSent < VALID_JSON) all.push({ topic: 'plant/valid/m1', payload: validSent++ });
      }
      const received = (): number => (spb.stats().messages ?? 0) + (json.stats().messages ?? 0);
      const CHUNK = 2_000;
      for (let i = 0; i < all.length; i += CHUNK) {
        await Promise.all(all.slice(i, i + CHUNK).map((m) => pub.publishAsync(m.topic, Buffer.from(typeof m.payload === 'number' ? validPayload(m.payload) : m.payload), { qos: 1 })));
        await waitFor('the agent to keep up', () => received() >= i + CHUNK - 10_000, 30_000, 20);
      }
      const publishedMs = performance.now() - started;

      node.setRate(0);
      const gw1 = node.counters();
      const stable = async (what: string, probe: () => number): Promise<void> => {
        let last = -1;
        await waitFor(what, () => { const v = probe(); const same = v === last; last = v; return same; }, 30_000, 500);
      };
      await waitFor('every fuzz message at the JSON source', () => json.stats().messages === jsonMessages.length + VALID_JSON, 30_000, 50);
      await waitFor('every fuzz message and gw1 message at the Sparkplug source', () => (spb.stats().messages ?? 0) >= spbMessages.length + gw1.messages, 30_000, 50);
      await stable('the Sparkplug source to go quiet', () => (spb.stats().messages ?? 0) + ncmds);
      const drainedMs = performance.now() - started;

      expect(crashes).toEqual([]);

      // The plain JSON source: exactly what the reference predicts.
      const js = json.stats();
      expect(js.messages).toBe(jsonMessages.length + VALID_JSON);
      expect(js.messagesRefused).toBe(expected.json.refused);
      expect(emitted.json).toBe(expected.json.emitting + VALID_JSON);
      expect(js.rejected).toEqual(expected.json.reasons);
      for (const r of Object.keys(js.rejected)) expect(JSON_REASONS).toContain(r);
      expect(sum(js.rejected)).toBeGreaterThanOrEqual(js.messagesRefused!);

      // The Sparkplug source: every message counted, none lost, refusals with documented reasons.
      const ss = spb.stats();
      expect(ss.messages).toBe(spbMessages.length + gw1.messages + ncmds);
      expect(ss.rejected.not_sparkplug_topic ?? 0).toBe(expected.spbTopic);
      expect(ss.rejected.malformed_payload ?? 0).toBe(expected.spbMalformed);
      for (const r of Object.keys(ss.rejected)) expect(SPARKPLUG_REASONS).toContain(r);
      expect(sum(ss.rejected)).toBeGreaterThanOrEqual(ss.messagesRefused!);
      // Messages that gave readings, plus refused, plus valid-but-empty ones (deaths, commands, births of nothing readable).
      const empty = ss.messages! - emitted.spb - ss.messagesRefused!;
      expect(empty).toBeGreaterThanOrEqual(0);
      expect(empty).toBeLessThanOrEqual(expected.spbDecodable + ncmds + gw1.messages);
      expect(ss.messagesRefused).toBeGreaterThanOrEqual(expected.spbTopic + expected.spbMalformed);

      // Valid traffic: every gw1 metric (births and data) and every valid JSON reading, once.
      await waitFor('the valid JSON readings stored', () => agent.store.readings('valid.p').length >= VALID_JSON, 15_000, 100);
      const valid = agent.store.readings('valid.p');
      expect(valid.map((r) => r.value)).toEqual(Array.from({ length: VALID_JSON }, (_, i) => i));
      expect(valid.every((r) => r.quality === Quality.Good && !r.flags)).toBe(true);

      const byDevice = new Map<string, { tags: string[]; births: number }>();
      for (const m of node.metrics) {
        const d = byDevice.get(m.device) ?? { tags: [], births: 1 };
        d.tags.push(`gw1.${m.device}.${m.name.replace(/[^A-Za-z0-9_.-]/g, '_')}`);
        byDevice.set(m.device, d);
      }
      expect(gw1.births).toBe(1 + byDevice.size); // no rebirth was needed: gw1's session was never disturbed
      const expectedGw1 = gw1.metrics + node.metrics.length;
      const storedGw1 = (): number => [...byDevice.values()].flatMap((d) => d.tags).reduce((n, t) => n + agent.store.readings(t).length, 0);
      await waitFor(`gw1's ${expectedGw1} readings stored`, () => storedGw1() >= expectedGw1, 15_000, 100);
      for (const [device, d] of byDevice) {
        const perTag = d.tags.map((t) => agent.store.readings(t));
        for (const rs of perTag) {
          expect(new Set(rs.map((r) => r.tsMs)).size).toBe(rs.length); // no duplicates
          expect(rs.every((r) => r.quality === Quality.Good)).toBe(true);
        }
        expect(perTag.reduce((n, rs) => n + rs.length, 0)).toBe(gw1.metricsByDevice[device]! + d.tags.length);
      }
      expect(storedGw1()).toBe(expectedGw1);
      expect(crashes).toEqual([]);
      timings.push({ generatedMs: Math.round(generatedMs), publishedMs: Math.round(publishedMs), drainedMs: Math.round(drainedMs), spb: ss, spbEmitted: emitted.spb, ncmds, json: js, tags: agent.store.readings('fuzz.v').length });
    } finally {
      await node?.stop();
      await pub.endAsync();
      await observer.endAsync();
      await agent.stop();
    }
  });

  it('a refused message is counted under a reason: DATA without metrics before its birth', { timeout: 30_000 }, async () => {
    const agent = await startAgent(agentConfig('edge-fuzz-empty', [{ kind: 'sparkplug', name: 'spb', url: broker.url, group: 'fuzz-empty', discover: true }]), { logger });
    const pub = await publisher('fuzz-empty');
    try {
      await agent.sourcesReady;
      const src = agent.sources[0]!;
      await pub.publishAsync('spBv1.0/fuzz-empty/DDATA/n1/d1', Buffer.from(encodePayload({ timestampMs: Date.now(), seq: 1, metrics: [] })), { qos: 1 });
      // (the source's rebirth request to n1 comes back to it as a second message, an NCMD: not refused)
      await waitFor('the message refused', () => src.stats().messagesRefused === 1, 10_000, 20);
      // source.ts: messagesRefused are "messages that gave no reading at all (each counted under at least one reason in `rejected`)".
      expect(sum(src.stats().rejected)).toBeGreaterThanOrEqual(1);
    } finally {
      await pub.endAsync();
      await agent.stop();
    }
  });

  it('refused messages are acknowledged: a QoS 1 source that receives only garbage keeps receiving', { timeout: 30_000 }, async () => {
    const agent = await startAgent(agentConfig('edge-fuzz-stall', [{ kind: 'mqtt', name: 'json', url: broker.url, topics: [{ filter: 'stall/+', tags: [{ id: 'stall.v', path: 'v' }] }] }]), { logger });
    const pub = await publisher('fuzz-stall');
    try {
      await agent.sourcesReady;
      // More than the broker's in-flight window (1000 here; mosquitto's default is 20) of messages that give no reading...
      await Promise.all(Array.from({ length: 1_100 }, () => pub.publishAsync('stall/a', 'not json', { qos: 1 })));
      // ...then valid ones: they must still arrive.
      for (let i = 0; i < 5; i++) await pub.publishAsync('stall/a', JSON.stringify({ v: i }), { qos: 1 });
      await waitFor('the valid messages after the garbage', () => agent.store.readings('stall.v').length === 5, 10_000, 100).catch((e) => { throw new Error(`${String(e)} ${JSON.stringify(agent.sources[0]!.stats())}`); });
      expect(agent.sources[0]!.stats()).toMatchObject({ messages: 1_105, messagesRefused: 1_100, rejected: { malformed_json: 1_100 } });
    } finally {
      await pub.endAsync();
      await agent.stop();
    }
  });
});

const timings: object[] = [];
afterAll(() => {
  if (process.env.FUZZ_TIMINGS) process.stdout.write(`fuzz timings ${JSON.stringify(timings)}\n`);
});
