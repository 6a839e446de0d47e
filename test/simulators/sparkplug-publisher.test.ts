/**
 * The benchmark publisher in a process of its own (the built dist/ file): started with options on
 * argv, rate changed and counters read over stdin, and its final counters equal to what a
 * subscriber on a real mosquitto received.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SparkplugCounters } from '../../simulators/index.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/wait.js';
import { subscribeSparkplug, type SparkplugSubscriber } from './sparkplug-subscriber.js';

const PUBLISHER = fileURLToPath(new URL('../../dist/simulators/sparkplug/publisher-process.js', import.meta.url));
const TEST_TIMEOUT_MS = 30_000;

interface Line {
  event: string;
  counters?: SparkplugCounters;
  message?: string;
}

let broker: Mosquitto;
let sub: SparkplugSubscriber;
const group = `pub${process.pid}`;
beforeAll(async () => {
  broker = await startMosquitto();
  sub = await subscribeSparkplug(broker.url, group);
});
afterAll(async () => {
  await sub?.close();
  await broker?.stop();
});

describe('sparkplug publisher process', () => {
  it('publishes at the rate asked, takes a new rate on stdin, and reports counters equal to what a subscriber received', { timeout: TEST_TIMEOUT_MS }, async () => {
    if (!existsSync(PUBLISHER)) throw new Error(`${PUBLISHER} is missing: run \`npm run build\``);
    const options = { url: broker.url, group, devices: 4, metricsPerDevice: 50, batchSize: 50, ratePerSec: 20_000, logLevel: 'warn' };
    const child = spawn(process.execPath, [PUBLISHER, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const lines: Line[] = [];
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const parts = stdout.split('\n');
      stdout = parts.pop()!;
      for (const p of parts) lines.push(JSON.parse(p) as Line);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const send = (cmd: object) => child.stdin.write(`${JSON.stringify(cmd)}\n`);
    try {
      await waitFor(`the publisher to be ready (${stderr})`, () => lines.some((l) => l.event === 'ready'), 10_000, 20);
      await waitFor('data', () => sub.of('DDATA').length >= 100, 10_000, 20);
      send({ rate: 40_000 });
      send({ fault: 'nothing' });
      await new Promise((r) => setTimeout(r, 1000));
      send({ counters: true });
      await waitFor('counters', () => lines.find((l) => l.event === 'counters'), 5_000, 20);
      expect(lines.find((l) => l.event === 'error')!.message).toMatch(/unknown fault 'nothing'/);
      send({ stop: true });
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const final = lines.find((l) => l.event === 'stopped')!.counters!;
    expect(final.metrics).toBeGreaterThan(20_000);
    expect(final.inflight).toBe(0);
    expect(final.acked).toBe(final.messages);
    await waitFor('every metric at the subscriber', () => sub.dataMetrics() >= final.metrics, 10_000, 20);
    expect(sub.dataMetrics()).toBe(final.metrics);
    expect(sub.of('DDATA')).toHaveLength(final.dataMessages);
    const byDevice: Record<string, number> = {};
    for (const m of sub.of('DDATA')) byDevice[m.parsed.device!] = (byDevice[m.parsed.device!] ?? 0) + m.payload!.metrics.length;
    expect(byDevice).toEqual(final.metricsByDevice);
    expect(sub.of('DBIRTH')).toHaveLength(4);
    expect(sub.of('NDEATH')).toHaveLength(1);
    const last = sub.messages.filter((m) => m.payload?.seq !== undefined).at(-1)!;
    expect(last.payload!.seq).toBe(final.lastSeq);
  });
});
