/**
 * Ingestion end to end: a Sparkplug B edge node in its own process publishes batches of 100
 * metrics to mosquitto (Debian's, started here on a loopback port); the edge agent (`gridos
 * edge` started through bin/gridos-edge as on a gateway, its own process) subscribes, runs its real pipeline, commits to its SQLite store and
 * sends telemetry up through its uplink; this process plays the hub's part of acknowledging
 * what arrives (it decodes only the sequence number: the hub is not what is measured here).
 *
 * The offered rate ramps up step by step; a step is sustained when the edge stores what was
 * offered without the backlog (published but not stored) growing. The highest sustained rate
 * is the result. Then the publisher stops, everything drains, and the edge's counts are
 * compared with the publisher's: lost = published - stored.
 *
 * Baseline, same run, same broker: the naive design (bench/naive.ts: one JSON message, one
 * SQLite row and one forward per reading), ramped the same way.
 *
 *   npm run bench -- ingest            full ramp, 8 s steps
 *   npm run bench -- ingest --quick    under a minute
 *   npm run bench -- ingest --soak     10 minutes at 100k readings/s with an OPC UA source beside
 *                                      it: RSS and its growth per minute (not in CI)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { commandTopic, encodeEnvelope, envelope, toRanges } from '../protocols/index.js';
import { EnvelopeType } from '../protocols/schema.js';
import { startSubstation, substationDefaults } from '../simulators/index.js';
import { freeLoopbackPort } from '../simulators/substation/free-port.js';
import { machine } from './machine.js';

const PUBLISHER = fileURLToPath(new URL('../simulators/sparkplug/publisher-process.js', import.meta.url));
const NAIVE = fileURLToPath(new URL('./naive.js', import.meta.url));
const BATCH = 100;
/** The agent starts through bin/gridos-edge, as on a gateway; BENCH_EDGE_NODE_ARGS replaces its V8 flags. */
const LAUNCHER = fileURLToPath(new URL('../../bin/gridos-edge', import.meta.url));
const EDGE_NODE_ARGS = process.env.BENCH_EDGE_NODE_ARGS;
const DEVICES = 5;
const METRICS_PER_DEVICE = 100;

const log = (msg: string) => process.stderr.write(`[ingest] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A child process that speaks JSON lines on stdout. */
function jsonChild(args: string[], name: string): { child: ChildProcess; next(pred: (o: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>; send(o: object): void; last: () => Record<string, unknown> | undefined } {
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const waiters: { pred: (o: Record<string, unknown>) => boolean; resolve: (o: Record<string, unknown>) => void }[] = [];
  let last: Record<string, unknown> | undefined;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    last = o;
    for (const w of [...waiters]) if (w.pred(o)) waiters.splice(waiters.indexOf(w), 1) && w.resolve(o);
  });
  return {
    child,
    last: () => last,
    send: (o) => child.stdin!.write(`${JSON.stringify(o)}\n`),
    next: (pred, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${name}: no answer in ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
        waiters.push({ pred, resolve: (o) => (clearTimeout(t), resolve(o)) });
        child.once('exit', (code) => reject(new Error(`${name} exited ${code}: ${stderr}`)));
      }),
  };
}

/** CPU seconds a process has used so far (Linux /proc; undefined elsewhere). */
function cpuSecondsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // fields after the command name (which may hold spaces): utime and stime are the 12th and 13th
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** The node flags a process runs with, as the kernel has them (the launcher exec'd node). */
function nodeFlagsOf(pid: number | undefined): string | undefined {
  if (pid === undefined) return undefined;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const script = argv.findIndex((a) => a.endsWith('gridos.js'));
    return script > 0 ? argv.slice(1, script).join(' ') : undefined;
  } catch {
    return undefined;
  }
}

async function startBroker(dir: string): Promise<{ url: string; pid: number | undefined; stop(): void }> {
  const port = await freeLoopbackPort();
  const conf = join(dir, 'mosquitto.conf');
  // A gateway's broker sized for its edge: enough in flight for group commits, and a deep queue
  // so a slow consumer is measured as backlog, not as silent drops.
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\nmax_inflight_messages 1000\nmax_queued_messages 1000000\nmax_queued_bytes 0\n`);
  const bin = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p));
  if (!bin) throw new Error('mosquitto is not installed: apt-get install mosquitto');
  const child = spawn(bin, ['-c', conf], { stdio: 'ignore' });
  const url = `mqtt://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 500 });
      c.once('connect', () => (c.end(true), resolve(true)));
      c.once('error', () => (c.end(true), resolve(false)));
    });
    if (ok) break;
    await sleep(100);
  }
  return { url, pid: child.pid, stop: () => child.kill('SIGTERM') };
}

/** Plays the hub: acknowledges every sequenced message the edge publishes, in ranges, every 20 ms. */
async function startAcker(url: string): Promise<{ messages: () => number; stop(): Promise<void> }> {
  const client = mqtt.connect(url, { clientId: `bench-acker-${process.pid}` });
  await new Promise((r) => client.once('connect', r));
  const pending = new Map<string, { site: string; seqs: number[] }>();
  let messages = 0;
  client.on('message', (topic, payload) => {
    const [, , site, edge, kind] = topic.split('/');
    if (!site || !edge || kind === 'state' || kind === 'cmd') return;
    const env = EnvelopeType.decode(payload) as unknown as { seq: number | { toNumber(): number } };
    const seq = typeof env.seq === 'number' ? env.seq : env.seq.toNumber();
    messages++;
    let p = pending.get(edge);
    if (!p) pending.set(edge, (p = { site, seqs: [] }));
    p.seqs.push(seq);
  });
  await client.subscribeAsync('gridos/v1/+/+/+', { qos: 1 });
  const timer = setInterval(() => {
    for (const [edge, p] of pending) {
      if (p.seqs.length === 0) continue;
      for (const ack of toRanges(p.seqs)) {
        client.publish(commandTopic(p.site, edge, 'ack'), Buffer.from(encodeEnvelope(envelope({ edgeId: edge, siteId: p.site, seq: 0, sentAtMs: Date.now(), payload: { kind: 'ack', ack } }))), { qos: 1 });
      }
      p.seqs = [];
    }
  }, 20);
  return { messages: () => messages, stop: async () => (clearInterval(timer), await client.endAsync()) };
}

async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(url)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (!m) continue;
    const key = m[1]! + (m[2]?.includes('source="') ? `{${/source="([^"]+)"/.exec(m[2])![1]}}` : '');
    out.set(key, (out.get(key) ?? 0) + Number(m[3]));
  }
  return out;
}

interface Step {
  requested: number;
  offered: number;
  stored: number;
  backlogGrowth: number;
  sustained: boolean;
  rssMb?: number;
  edgeCpuPct?: number;
  /** The load generator and the broker on the same cores, % of one core. */
  publisherCpuPct?: number;
  brokerCpuPct?: number;
  commitsPerSec?: number;
  commitMsAvg?: number;
}

async function benchGridos(dir: string, brokerUrl: string, brokerPid: number | undefined, rates: number[], stepMs: number, soak: { minutes: number; rate: number } | undefined) {
  const acker = await startAcker(brokerUrl);
  const metricsPort = await freeLoopbackPort();
  const sim = soak ? await startSubstation({ ...substationDefaults, port: 0, tickMs: 100, pkiDir: join(dir, 'sim-pki'), logger: pino({ level: 'warn' }) }) : undefined;
  const config = {
    edge: { id: 'bench-edge', site: 'bench-site' },
    hub: { mqttUrl: brokerUrl },
    storage: { dataDir: join(dir, 'edge'), maxCommitReadings: 50_000 },
    sources: [
      { kind: 'sparkplug', name: 'spb', url: brokerUrl, group: 'bench', discover: true },
      ...(sim ? [{ kind: 'opcua', name: 'substation', endpoint: sim.endpointUrl, samplingInterval: '100ms', publishingInterval: '500ms', tags: sim.points.map((p) => ({ id: p.tag, nodeId: p.nodeId })) }] : []),
    ],
    uplink: { maxBatchReadings: 10_000, maxBatchBytes: '2MiB', inFlight: 64 },
    metrics: { port: metricsPort },
    log: { level: 'warn' },
  };
  const configFile = join(dir, 'edge.yaml');
  writeFileSync(configFile, stringify(config));
  // The agent runs as on a gateway: through its launcher, with the launcher's V8 flags.
  // BENCH_EDGE_NODE_ARGS replaces them, e.g. "" for Node's defaults or
  // "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile. `exec` in the launcher: one process, the agent.
  const env = { ...process.env, GRIDOS_LAUNCH_NODE: process.execPath, ...(EDGE_NODE_ARGS !== undefined ? { GRIDOS_LAUNCH_FLAGS: EDGE_NODE_ARGS } : {}) };
  const edge = spawn('/bin/sh', [LAUNCHER, '--config', configFile, '--log-format', 'json'], { stdio: ['ignore', 'ignore', 'pipe'], env });
  let edgeErr = '';
  edge.stderr!.on('data', (d: Buffer) => (edgeErr = (edgeErr + d.toString()).slice(-8000)));
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  for (let i = 0; ; i++) {
    try {
      await scrape(metricsUrl);
      break;
    } catch {
      if (i > 200 || edge.exitCode !== null) throw new Error(`the edge did not start: ${edgeErr}`);
      await sleep(100);
    }
  }
  const edgeNodeFlags = nodeFlagsOf(edge.pid);
  const pub = jsonChild([PUBLISHER, JSON.stringify({ url: brokerUrl, group: 'bench', node: 'gw1', devices: DEVICES, metricsPerDevice: METRICS_PER_DEVICE, ratePerSec: 0, batchSize: BATCH, qos: 1 })], 'publisher');
  const pubPid = (await pub.next((o) => o.event === 'ready', 30_000)).pid as number | undefined;
  const othersCpu = () => ({ pub: cpuSecondsOf(pubPid), broker: cpuSecondsOf(brokerPid) });
  const counters = async () => {
    pub.send({ counters: true });
    return ((await pub.next((o) => o.event === 'counters')).counters as { metrics: number });
  };
  const stored = async () => {
    const m = await scrape(metricsUrl);
    return { accepted: m.get('gridos_edge_readings_accepted_total{spb}') ?? 0, rssMb: (m.get('process_resident_memory_bytes') ?? 0) / 2 ** 20, duplicates: m.get('gridos_edge_duplicate_readings_total') ?? 0, outbox: m.get('gridos_edge_outbox_messages') ?? 0, commits: m.get('gridos_edge_store_commit_seconds_count') ?? 0, commitSec: m.get('gridos_edge_store_commit_seconds_sum') ?? 0, cpuSec: m.get('process_cpu_seconds_total') ?? 0, heapMb: (m.get('nodejs_heap_size_total_bytes') ?? 0) / 2 ** 20, externalMb: (m.get('nodejs_external_memory_bytes') ?? 0) / 2 ** 20 };
  };
  // the births' values are readings too: count them before the ramp
  let births = 0;
  for (let i = 0, prev = -1; i < 50; i++) {
    births = (await stored()).accepted;
    if (births === prev && births > 0) break;
    prev = births;
    await sleep(200);
  }
  let rssPeak = 0;
  const sampler = setInterval(() => void stored().then((s) => (rssPeak = Math.max(rssPeak, s.rssMb)), () => undefined), 500);
  const steps: Step[] = [];
  const soakSamples: { minute: number; rssMb: number }[] = [];
  const schedule = soak ? [soak.rate] : rates;
  for (const rate of schedule) {
    pub.send({ rate });
    await sleep(1_000); // settle into the new rate before measuring
    const [c0, s0, o0, t0] = [await counters(), await stored(), othersCpu(), performance.now()];
    const duration = soak ? soak.minutes * 60_000 : stepMs;
    if (soak) {
      for (let m = 0; m < soak.minutes * 6; m++) {
        await sleep(10_000);
        const s = await stored();
        soakSamples.push({ minute: (m + 1) / 6, rssMb: s.rssMb });
        log(`soak ${((m + 1) / 6).toFixed(1)} min: rss ${s.rssMb.toFixed(1)} MB (heap ${s.heapMb.toFixed(1)}, external ${s.externalMb.toFixed(1)})`);
      }
    } else await sleep(duration);
    const [c1, s1, o1, t1] = [await counters(), await stored(), othersCpu(), performance.now()];
    const secs = (t1 - t0) / 1000;
    const offered = (c1.metrics - c0.metrics) / secs;
    const storedRate = (s1.accepted - s0.accepted) / secs;
    const backlog0 = c0.metrics - (s0.accepted - births);
    const backlog1 = c1.metrics - (s1.accepted - births);
    const growth = backlog1 - backlog0;
    // Sustained: the publisher delivered what was asked, and at the end of the step the edge is
    // less than half a second behind it (what is in flight in the broker and the pipeline; an
    // edge that cannot keep up is seconds behind within a step).
    const sustained = offered >= rate * 0.95 && backlog1 <= rate * 0.5;
    const commits = s1.commits - s0.commits;
    const step: Step = {
      requested: rate,
      offered: Math.round(offered),
      stored: Math.round(storedRate),
      backlogGrowth: growth,
      sustained,
      rssMb: Math.round(s1.rssMb),
      edgeCpuPct: Math.round(((s1.cpuSec - s0.cpuSec) / secs) * 100),
      ...(o0.pub !== undefined && o1.pub !== undefined ? { publisherCpuPct: Math.round(((o1.pub - o0.pub) / secs) * 100) } : {}),
      ...(o0.broker !== undefined && o1.broker !== undefined ? { brokerCpuPct: Math.round(((o1.broker - o0.broker) / secs) * 100) } : {}),
      commitsPerSec: Math.round(commits / secs),
      commitMsAvg: commits > 0 ? Math.round(((s1.commitSec - s0.commitSec) / commits) * 1e4) / 10 : 0,
    };
    steps.push(step);
    log(`gridos  ${rate.toLocaleString()}/s requested: offered ${step.offered.toLocaleString()}/s, stored ${step.stored.toLocaleString()}/s, backlog ${backlog1}, edge cpu ${step.edgeCpuPct}% (publisher ${step.publisherCpuPct ?? '?'}%, mosquitto ${step.brokerCpuPct ?? '?'}%), ${step.commitsPerSec} commits/s of ${step.commitMsAvg} ms, rss ${step.rssMb} MB: ${sustained ? 'sustained' : 'NOT sustained'}`);
    if (!sustained) break;
  }
  clearInterval(sampler);
  pub.send({ rate: 0 });
  // drain: everything published is stored, then the uplink empties
  const final = await counters();
  let s = await stored();
  for (let i = 0; i < 600 && final.metrics > s.accepted - births; i++) {
    await sleep(100);
    s = await stored();
  }
  for (let i = 0; i < 600 && s.outbox > 1; i++) {
    await sleep(100);
    s = await stored();
  }
  pub.send({ stop: true });
  await pub.next((o) => o.event === 'stopped').catch(() => undefined);
  edge.kill('SIGTERM');
  await new Promise((r) => edge.once('exit', r));
  await acker.stop();
  await sim?.stop();
  const best = steps.filter((x) => x.sustained).reduce((m, x) => Math.max(m, x.stored), 0);
  let rssGrowthMbPerMin: number | undefined;
  if (soak && soakSamples.length > 6) {
    const tail = soakSamples.slice(Math.floor(soakSamples.length / 5)); // after warm-up
    const n = tail.length;
    const mx = tail.reduce((a, p) => a + p.minute, 0) / n;
    const my = tail.reduce((a, p) => a + p.rssMb, 0) / n;
    rssGrowthMbPerMin = tail.reduce((a, p) => a + (p.minute - mx) * (p.rssMb - my), 0) / tail.reduce((a, p) => a + (p.minute - mx) ** 2, 0);
  }
  return { steps, best, lost: final.metrics - (s.accepted - births), duplicated: s.duplicates, rssPeak, outboxLeft: s.outbox, uplinkMessages: acker.messages(), soakSamples, rssGrowthMbPerMin, edgeNodeFlags };
}

async function benchNaive(dir: string, brokerUrl: string, rates: number[], stepMs: number) {
  const agent = jsonChild([NAIVE, 'agent', JSON.stringify({ url: brokerUrl, db: join(dir, 'naive.db') })], 'naive agent');
  await agent.next((o) => o.ready === true);
  const pub = jsonChild([NAIVE, 'publisher', JSON.stringify({ url: brokerUrl, rate: 0 })], 'naive publisher');
  await pub.next((o) => typeof o.published === 'number');
  const steps: Step[] = [];
  const sample = async () => [(await pub.next((o) => typeof o.published === 'number')).published as number, (await agent.next((o) => typeof o.stored === 'number')).stored as number] as const;
  for (const rate of rates) {
    pub.send({ rate });
    await sleep(1_000);
    const [p0, s0] = await sample();
    const t0 = performance.now();
    await sleep(stepMs);
    const [p1, s1] = await sample();
    const secs = (performance.now() - t0) / 1000;
    const offered = (p1 - p0) / secs;
    const storedRate = (s1 - s0) / secs;
    const growth = p1 - s1 - (p0 - s0);
    const sustained = offered >= rate * 0.95 && p1 - s1 <= rate * 0.5;
    steps.push({ requested: rate, offered: Math.round(offered), stored: Math.round(storedRate), backlogGrowth: growth, sustained });
    log(`naive   ${rate.toLocaleString()}/s requested: offered ${Math.round(offered).toLocaleString()}/s, stored ${Math.round(storedRate).toLocaleString()}/s, backlog +${growth} ${sustained ? 'sustained' : 'NOT sustained'}`);
    if (!sustained) break;
  }
  pub.child.kill('SIGTERM');
  agent.child.kill('SIGTERM');
  return { steps, best: steps.filter((x) => x.sustained).reduce((m, x) => Math.max(m, x.stored), 0) };
}

export async function benchIngest(flags: string[]) {
  const quick = flags.includes('--quick');
  const soak = flags.includes('--soak');
  const dir = mkdtempSync(join(tmpdir(), 'gridos-bench-ingest-'));
  const broker = await startBroker(dir);
  try {
    const stepMs = quick ? 4_000 : 8_000;
    const rates = quick ? [100_000, 300_000, 500_000, 600_000] : [100_000, 200_000, 300_000, 400_000, 500_000, 600_000, 700_000, 800_000, 1_000_000];
    const naiveRates = quick ? [5_000, 10_000, 20_000, 40_000] : [5_000, 10_000, 20_000, 30_000, 40_000, 60_000, 80_000];
    log(`mosquitto at ${broker.url}; ${DEVICES} devices x ${METRICS_PER_DEVICE} metrics, batches of ${BATCH}`);
    const soakMinutes = Number(process.env.BENCH_SOAK_MINUTES ?? 10);
    const gridos = await benchGridos(dir, broker.url, broker.pid, rates, stepMs, soak ? { minutes: soakMinutes, rate: 100_000 } : undefined);
    const naive = soak ? { steps: [], best: 0 } : await benchNaive(dir, broker.url, naiveRates, stepMs);
    const m = machine();
    return {
      bench: 'ingest',
      machine: m,
      inputs: { quick, soak, stepMs, edgeNodeFlags: gridos.edgeNodeFlags, devices: DEVICES, metricsPerDevice: METRICS_PER_DEVICE, qos: 1, broker: 'mosquitto (max_inflight_messages 1000)', rates, naiveRates },
      gridos: { steps: gridos.steps, uplinkMessages: gridos.uplinkMessages, outboxLeft: gridos.outboxLeft, ...(soak ? { soakSamples: gridos.soakSamples, rssGrowthMbPerMin: gridos.rssGrowthMbPerMin } : {}) },
      baseline: { design: 'one JSON message, one SQLite row (synchronous=NORMAL) and one forward per reading', steps: naive.steps },
      readingsPerSec: gridos.best,
      baselineReadingsPerSec: naive.best,
      ratio: naive.best > 0 ? Math.round((gridos.best / naive.best) * 10) / 10 : null,
      rssMbPeak: Math.round(gridos.rssPeak),
      lost: gridos.lost,
      duplicated: gridos.duplicated,
      batchSize: BATCH,
      node: m.node,
      cpus: m.cpus,
    };
  } finally {
    broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
