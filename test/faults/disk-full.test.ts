/**
 * Disk full: the edge's store sits on a 16 MB tmpfs that the test fills up. The agent keeps
 * running (with no readings kept in memory for a later retry here, `maxRetainedReadings: 0`, so
 * every failed write is a loss the test can see), drops only raw telemetry (counted, and reported to the hub as a gap once it can write
 * again), keeps every sequenced message, the database stays intact, and it recovers by itself
 * when space returns. Needs root to mount the tmpfs (CI runs as root).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubConfigSchema, validateConfig } from '../../config/index.js';
import { startAgent, type Agent } from '../../edge/index.js';
import { Quality } from '../../protocols/index.js';
import { buildHub, type Hub } from '../../hub/index.js';
import type { SubstationHandle } from '../../simulators/index.js';
import { captureLogger } from '../helpers/logger.js';
import { edgeConfigFor, startTestSubstation } from '../helpers/slice.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'gridos-diskfull-'));
const mountPoint = join(dir, 'small-disk');
const { logger, records } = captureLogger('info');
let hub: Hub;
let sim: SubstationHandle;
let simStopped = false;
let agent: Agent | undefined;
let mounted = false;

beforeAll(async () => {
  mkdirSync(mountPoint);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mountPoint]);
  mounted = true;
  hub = await buildHub(validateConfig(hubConfigSchema, { http: { port: 0 }, broker: { mode: 'embedded', port: 0 }, storage: { dataDir: join(dir, 'hub') } }, 'test'), { logger });
  const { brokerUrl } = await hub.start();
  sim = await startTestSubstation(dir, logger, { feeders: 8, tickMs: 50 });
  const config = edgeConfigFor(sim, { edge: { id: 'edge-full', site: 'site-full' }, hub: { mqttUrl: brokerUrl }, storage: { dataDir: join(mountPoint, 'edge'), maxRetainedReadings: 0 } });
  agent = await startAgent(config, { logger });
  await agent.sourcesReady;
}, 60_000);

afterAll(async () => {
  await agent?.stop().catch(() => undefined);
  if (!simStopped) await sim?.stop();
  await hub?.stop();
  if (mounted) execFileSync('umount', ['-l', mountPoint]);
});

/** Writes a file until the file system says it is full. */
function fillDisk(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 7);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
}

const metric = async (name: string) => (await agent!.metrics.registry.getSingleMetricAsString(name)) ?? '';

describe('the edge store on a full disk', () => {
  it('keeps running, drops only raw telemetry with a recorded gap, and recovers when space returns', async () => {
    await waitFor('readings at the hub', () => hub.store.edges().some((e) => e.lastReadingTsMs > 0), 15_000);
    const filler = join(mountPoint, 'filler');
    fillDisk(filler);
    await waitFor('the store to hit the full disk', async () => /gridos_edge_store_errors_total\{[^}]*code="SQLITE_FULL"[^}]*\} [1-9]/.test(await metric('gridos_edge_store_errors_total')), 20_000);
    await waitFor('readings to be dropped for disk_full', async () => /reason="disk_full"[^}]*\} [1-9]/.test(await metric('gridos_edge_dropped_readings_total')), 10_000);
    expect(records.some((r) => r.level === 50 && String(r.msg).includes('cannot write the local store'))).toBe(true);

    // space returns
    rmSync(filler);
    await waitFor('a disk_full gap at the hub', () => hub.store.gaps('edge-full').find((g) => g.reason === 'disk_full'), 20_000).catch(async (e) => {
      const { execFileSync: x } = await import('node:child_process');
      throw new Error(`${String(e)}\n${x('ls', ['-la', join(mountPoint, 'edge')]).toString()}\n${x('df', [mountPoint]).toString()}\ngaps ${JSON.stringify(hub.store.gaps('edge-full'))} edges ${JSON.stringify(hub.store.edges())} lastSeq ${agent!.store.lastSeq()} received ${await metric('gridos_edge_readings_received_total')}\nsource ${agent!.sources[0]!.state} ${JSON.stringify(agent!.sources[0]!.stats())}\n${await metric('gridos_edge_store_errors_total')}\n${await metric('gridos_edge_readings_stored_total')}\n${records.filter((r) => (r.level as number) >= 30 && r.component !== 'substation-sim').slice(-25).map((r) => JSON.stringify(r)).join('\n')}`);
    });
    const gap = hub.store.gaps('edge-full').find((g) => g.reason === 'disk_full')!;
    expect(gap.readings).toBeGreaterThan(0);
    expect(gap.toTsMs).toBeGreaterThanOrEqual(gap.fromTsMs);

    // fresh data flows again, and every sequenced message reached the hub
    const before = hub.store.edges()[0]!.lastReadingTsMs;
    await waitFor('new readings after recovery', () => hub.store.edges()[0]!.lastReadingTsMs > before + 500, 15_000);
    // with the source stopped, the outbox drains: every sequenced message reached the hub
    await sim.stop();
    simStopped = true;
    // the lost link becomes a stale reading per tag: let that be stored (and sent) too
    await waitFor('the lost link recorded', () => agent!.store.readings(sim.points[0]!.tag).at(-1)?.quality === Quality.Stale, 40_000);
    await waitFor('an empty outbox', () => agent!.store.outboxDepth() === 0, 20_000);
    expect(hub.store.edges()[0]!.ackedThrough).toBe(agent!.store.lastSeq());
    expect(agent!.store.integrityCheck()).toBe('ok');
    expect(records.some((r) => String(r.msg).includes('local store writable again'))).toBe(true);
  });
});
