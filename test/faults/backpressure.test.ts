/**
 * Backpressure: with the store artificially slowed, the agent's memory stays bounded (the
 * backlog waits in the broker, not in the agent), flow control pauses the sources, and once the
 * store is fast again every metric published is stored exactly once. What it proves:
 *  - while commits are slow, the agent holds the broker's acknowledgements (held-acks.ts): the
 *    broker keeps a backlog of hundreds of thousands of readings, the agent's heap grows by less
 *    than HEAP_BOUND_BYTES (see below);
 *  - flow control reacts: `gridos_edge_sources_paused` (read from agent.metrics.registry) is 1
 *    at some point of the slow phase;
 *  - nothing is lost or duplicated: after the slowdown, the Good readings stored per gw1 tag
 *    equal what the simulator published (its counters: DDATA metrics plus birth values), each
 *    timestamp once.
 * Mocked: the slowness. `agent.store.commit` is wrapped with a synchronous busy-wait of
 * SLOW_COMMIT_MS. It is above FlowControl's slowCommitMs (1 s in agent.ts): a commit slower than
 * that is what the agent treats as a store falling behind (100-200 ms commits only slow the
 * intake without pausing). The simulator runs in a process of its own
 * (publisher-process.js), since the busy-wait blocks this process's event loop.
 * The broker is the helper's mosquitto (max_inflight_messages at its default, 20).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeConfigSchema, validateConfig } from '../../config/index.js';
import { startAgent, type Agent } from '../../edge/index.js';
import { Quality } from '../../protocols/index.js';
import type { SparkplugCounters } from '../../simulators/index.js';
import { metricTable } from '../../simulators/sparkplug/metrics.js';
import { captureLogger } from '../helpers/logger.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/wait.js';

const SLOW_COMMIT_MS = 1_200;
const SLOW_PHASE_MS = 12_000;
const DEVICES = 2;
const METRICS_PER_DEVICE = 100;
const RATE = 50_000; // metrics/s: 500 DDATA messages/s of 100 metrics
/**
 * What the agent may hold while the store is slow: the broker's in-flight window (20 messages of
 * 100 readings) and what the pipeline has in hand, a few MB. 16 MB leaves room for V8's noise.
 * The backlog asserted to sit in the broker is >= 300,000 readings: as Reading objects (an object
 * of 4 fields and two boxed doubles, >= 64 bytes each) that is >= 19 MB, and the test measures
 * it at about twice that.
 */
const HEAP_BOUND_BYTES = 16 * 1024 * 1024;
const MIN_BACKLOG_READINGS = 300_000;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const heapAfterGc = (): number => {
  gc();
  return process.memoryUsage().heapUsed;
};

const dir = mkdtempSync(join(tmpdir(), 'gridos-backpressure-'));
const { logger } = captureLogger('error');
let broker: Mosquitto;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(() => broker?.stop());

/** The simulator in a child process: send commands, read its counters. */
function startPublisher(options: object): { proc: ChildProcess; ready: Promise<void>; counters(): Promise<SparkplugCounters>; send(cmd: object): void } {
  const script = new URL('../../dist/simulators/sparkplug/publisher-process.js', import.meta.url).pathname;
  const proc = spawn(process.execPath, [script, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'ignore'] });
  const waiting: ((c: SparkplugCounters) => void)[] = [];
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    proc.once('exit', (code) => reject(new Error(`publisher exited with ${code}`)));
  });
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    const msg = JSON.parse(line) as { event: string; counters?: SparkplugCounters };
    if (msg.event === 'ready') onReady();
    if (msg.event === 'counters' || msg.event === 'stopped') waiting.shift()?.(msg.counters!);
  });
  const send = (cmd: object): void => void proc.stdin!.write(`${JSON.stringify(cmd)}\n`);
  return { proc, ready, send, counters: () => new Promise((resolve) => { waiting.push(resolve); send({ counters: true }); }) };
}

describe('backpressure', () => {
  it('a slow store: bounded memory, sources paused, the backlog left in the broker, then every metric stored once', { timeout: 90_000 }, async () => {
    const group = 'bp';
    const config = validateConfig(
      edgeConfigSchema,
      {
        edge: { id: 'edge-bp', site: 'site-bp' },
        hub: { mqttUrl: 'mqtt://127.0.0.1:1' },
        storage: { dataDir: join(dir, 'edge') },
        sources: [{ kind: 'sparkplug', name: 'spb', url: broker.url, group, discover: true }],
      },
      'test',
    );
    const agent: Agent = await startAgent(config, { logger });
    const pub = startPublisher({ url: broker.url, group, node: 'gw1', devices: DEVICES, metricsPerDevice: METRICS_PER_DEVICE, batchSize: METRICS_PER_DEVICE, ratePerSec: RATE, qos: 1 });
    const tags = metricTable(DEVICES, METRICS_PER_DEVICE, 1).flat().map((m) => `gw1.${m.deviceId}.${m.name.replace(/[^A-Za-z0-9_.-]/g, '_')}`);
    const good = (): number => tags.reduce((n, t) => n + agent.store.readings(t).filter((r) => r.quality === Quality.Good).length, 0);
    const store = agent.store as unknown as { commit: (...a: unknown[]) => unknown };
    const commit = store.commit.bind(agent.store);
    try {
      await agent.sourcesReady;
      await pub.ready;
      await waitFor('readings flowing', () => good() > 10_000, 20_000, 100);
      const heapBefore = heapAfterGc();

      // Slow phase: every commit takes SLOW_COMMIT_MS.
      store.commit = (...a: unknown[]) => {
        const until = performance.now() + SLOW_COMMIT_MS;
        while (performance.now() < until) { /* a disk that cannot keep up */ }
        return commit(...a);
      };
      const pausedGauge = async (): Promise<number> => (await agent.metrics.registry.getSingleMetric('gridos_edge_sources_paused')!.get()).values[0]?.value ?? 0;
      let maxHeapGrowth = 0;
      let pausedSeen = false;
      const slowEnds = Date.now() + SLOW_PHASE_MS;
      while (Date.now() < slowEnds) {
        await new Promise((r) => setTimeout(r, 250));
        if ((await pausedGauge()) === 1) pausedSeen = true;
        maxHeapGrowth = Math.max(maxHeapGrowth, heapAfterGc() - heapBefore);
      }
      const atEnd = await pub.counters();
      const storedAtEnd = good();
      const publishedAtEnd = atEnd.metrics + DEVICES * METRICS_PER_DEVICE;
      const backlog = publishedAtEnd - storedAtEnd;
      store.commit = commit;
      pub.send({ rate: 0 });

      expect(pausedSeen, 'gridos_edge_sources_paused went to 1').toBe(true);
      expect(backlog, `published ${publishedAtEnd}, stored ${storedAtEnd}`).toBeGreaterThanOrEqual(MIN_BACKLOG_READINGS);
      expect(maxHeapGrowth, `heap grew by ${Math.round(maxHeapGrowth / 1e6)} MB while the broker held ${backlog} readings`).toBeLessThan(HEAP_BOUND_BYTES);

      // Catch up: everything the simulator published, once.
      // The publisher is in another process: take its counters once they stop moving.
      let final = await pub.counters();
      await waitFor('the publisher to stop', async () => {
        await new Promise((r) => setTimeout(r, 300));
        const now = await pub.counters();
        const still = now.metrics === final.metrics && now.messages === final.messages;
        final = now;
        return still;
      }, 20_000, 0);
      expect(final.births).toBe(1 + DEVICES); // no rebirth: one birth value per metric
      expect(final.sessions).toBe(1);
      const expected = final.metrics + DEVICES * METRICS_PER_DEVICE;
      await waitFor(`${expected} readings stored`, () => good() >= expected, 45_000, 250);
      for (const [d, prefix] of [...Array(DEVICES).keys()].map((i) => [i, `gw1.Bay0${i + 1}.`] as const)) {
        const perTag = tags.filter((t) => t.startsWith(prefix)).map((t) => agent.store.readings(t).filter((r) => r.quality === Quality.Good));
        for (const rs of perTag) expect(new Set(rs.map((r) => r.tsMs)).size).toBe(rs.length);
        expect(perTag.reduce((n, rs) => n + rs.length, 0)).toBe(final.metricsByDevice[`Bay0${d + 1}`]! + METRICS_PER_DEVICE);
      }
      expect(good()).toBe(expected);
      if (process.env.BP_REPORT) process.stdout.write(`backpressure ${JSON.stringify({ publishedAtEnd, storedAtEnd, backlog, maxHeapGrowthMB: Math.round(maxHeapGrowth / 1e5) / 10, expected })}\n`);
    } finally {
      store.commit = commit;
      pub.send({ stop: true });
      await new Promise<void>((r) => (pub.proc.exitCode !== null ? r() : pub.proc.once('exit', () => r())));
      await agent.stop();
    }
  });
});
