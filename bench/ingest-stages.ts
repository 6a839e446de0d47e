/**
 * Where the edge agent's time goes per reading, stage by stage, in this process (no broker, no
 * MQTT client): the simulator's DDATA payloads (5 devices x 100 metrics, batches of 100) through
 * Sparkplug decode, the Sparkplug session (aliases to tags, Reading objects), the pipeline's
 * per-reading stages (order, validate, windows) and the durable commit (raw readings, compressed
 * telemetry into the outbox, WAL with synchronous=FULL) in commits of 20,000 readings.
 * Baseline, same run: the same payloads decoded by protobufjs alone (decodePayloadWithProtobufjs).
 *
 *   npm run bench -- ingest-stages
 *
 * What is not here and is in the end-to-end bench (bench/ingest.ts): mqtt.js's packet parsing,
 * the held PUBACKs, RxJS, metrics, the uplink reading the outbox back and publishing it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ingest } from '../edge/pipeline/ingest.js';
import { NO_QUALITY_CHECKS } from '../edge/pipeline/quality.js';
import { SparkplugSession } from '../edge/sources/mqtt/sparkplug-session.js';
import { EdgeStore } from '../edge/store/edge-store.js';
import { telemetryDrafts, type DraftContext } from '../edge/uplink/drafts.js';
import type { Reading } from '../protocols/index.js';
import { decodePayload, parseSparkplugTopic, type Payload, type SparkplugTopic } from '../protocols/sparkplug/index.js';
import { decodePayloadWithProtobufjs } from '../protocols/sparkplug/sparkplug.js';
import { DataWriter } from '../simulators/sparkplug/data-writer.js';
import { metricTable, signalValue } from '../simulators/sparkplug/metrics.js';
import { dbirthPayload } from '../simulators/sparkplug/payloads.js';
import { machine } from './machine.js';

const DEVICES = 5;
const METRICS_PER_DEVICE = 100;
const MESSAGES = 60_000;
const COMMIT_READINGS = 20_000;

const usPerReading = (ms: number, readings: number): number => Math.round((ms * 1000 * 1000) / readings) / 1000;

export function benchIngestStages() {
  const table = metricTable(DEVICES, METRICS_PER_DEVICE, 1);
  const writer = new DataWriter();
  const t0 = Date.now() - 600_000;
  const messages: { topic: string; payload: Buffer }[] = [];
  for (let k = 0; k < MESSAGES; k++) {
    const defs = table[k % DEVICES]!;
    // every tag gets a new timestamp each round over the devices
    const ts = t0 + Math.floor(k / DEVICES) * 10;
    writer.begin(ts);
    for (const m of defs) writer.metric(m.alias, ts, m.datatype, signalValue(m, 1, ts, k));
    messages.push({ topic: `spBv1.0/bench/DDATA/gw1/${defs[0]!.deviceId}`, payload: writer.finish((DEVICES + 1 + k) % 256) });
  }
  const readings = MESSAGES * METRICS_PER_DEVICE;

  const session = new SparkplugSession([], { discover: true, rebirthIntervalMs: 5_000 });
  const ingest = new Ingest([], { latenessMs: 5_000, windowsMs: [60_000, 900_000, 3_600_000], idleCloseMs: 2_000 });
  session.handle({ group: 'bench', type: 'NBIRTH', node: 'gw1' }, { seq: 0, metrics: [] }, t0);
  table.forEach((defs, d) => {
    const birth = decodePayload(dbirthPayload(d + 1, t0 - 10, defs.map((def) => ({ def, timestampMs: t0 - 10, value: 0 }))));
    if (!birth.ok) throw birth.error;
    const out = session.handle({ group: 'bench', type: 'DBIRTH', node: 'gw1', device: defs[0]!.deviceId }, birth.value, t0);
    for (const r of out.discovered) ingest.declare({ id: r.id, min: -Number.MAX_VALUE, max: Number.MAX_VALUE, quality: NO_QUALITY_CHECKS });
  });

  // the baseline decoder first, on its own
  let start = performance.now();
  for (const m of messages) decodePayloadWithProtobufjs(m.payload);
  const protobufjsMs = performance.now() - start;

  const dir = mkdtempSync(join(tmpdir(), 'gridos-bench-stages-'));
  const store = new EdgeStore(join(dir, 'edge.db'));
  const ctx: DraftContext = { edgeId: 'bench-edge', siteId: 'bench-site', compress: true, maxBatchReadings: 10_000, maxBatchBytes: 2 * 2 ** 20, now: Date.now };
  const ms = { decode: 0, session: 0, pipeline: 0, commit: 0 };
  let pending: Reading[] = [];
  let stored = 0;
  const cpu0 = process.cpuUsage();
  start = performance.now();
  for (const m of messages) {
    let t = performance.now();
    const topic = parseSparkplugTopic(m.topic) as SparkplugTopic;
    const decoded = decodePayload(m.payload);
    let u = performance.now();
    ms.decode += u - t;
    t = u;
    const fromSession = session.handle(topic, (decoded as { value: Payload }).value, Date.now()).readings;
    u = performance.now();
    ms.session += u - t;
    t = u;
    const out = ingest.process(fromSession, Date.now()).readings;
    u = performance.now();
    ms.pipeline += u - t;
    t = u;
    for (const r of out) pending.push(r);
    if (pending.length >= COMMIT_READINGS) {
      store.commit({ readings: pending, telemetry: (fresh) => telemetryDrafts(ctx, fresh) });
      stored += store.lastFresh;
      pending = [];
    }
    ms.commit += performance.now() - t;
  }
  const totalMs = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  store.close();
  rmSync(dir, { recursive: true, force: true });
  if (stored + pending.length !== readings) throw new Error(`stored ${stored + pending.length} of ${readings} readings`);
  return {
    bench: 'ingest-stages',
    machine: machine(),
    inputs: { devices: DEVICES, metricsPerDevice: METRICS_PER_DEVICE, messages: MESSAGES, commitReadings: COMMIT_READINGS, compress: true },
    usPerReading: {
      decode: usPerReading(ms.decode, readings),
      session: usPerReading(ms.session, readings),
      pipeline: usPerReading(ms.pipeline, readings),
      commit: usPerReading(ms.commit, readings),
      total: usPerReading(totalMs, readings),
      totalCpu: usPerReading((cpu.user + cpu.system) / 1000, readings),
    },
    baseline: { design: 'Sparkplug decode through protobufjs alone', decodeUsPerReading: usPerReading(protobufjsMs, readings) },
    readingsPerSecOneCore: Math.round(readings / (totalMs / 1000)),
  };
}
