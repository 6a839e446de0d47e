/**
 * Backpressure on the OPC UA source: pause() disables publishing on the server's subscription,
 * so no new Good readings arrive (beyond what was already in flight) until resume(). The paused
 * state outlives the subscription: after the server is replaced by a new instance and the
 * subscription re-created, the source stays quiet until resumed.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeConfigSchema, validateConfig, type OpcuaSourceConfig } from '../../config/index.js';
import { OpcuaSource } from '../../edge/sources/opcua.js';
import { Quality, type Reading } from '../../protocols/index.js';
import { startSubstation, substationDefaults, type SubstationHandle } from '../../simulators/index.js';
import { captureLogger } from '../helpers/logger.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'gridos-uapause-'));
const { logger } = captureLogger('info');
let sim: SubstationHandle | undefined;
let source: OpcuaSource;
const good: Reading[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const startSim = (port: number) => startSubstation({ ...substationDefaults, port, hourSeconds: 30, tickMs: 100, pkiDir: join(dir, 'sim-pki'), logger });

beforeAll(async () => {
  sim = await startSim(0);
  const cfg = validateConfig(
    edgeConfigSchema,
    {
      edge: { id: 'edge-p', site: 'site-p' },
      hub: { mqttUrl: 'mqtt://127.0.0.1:1' },
      storage: { dataDir: '/unused' },
      sources: [{ kind: 'opcua', name: 'substation', endpoint: sim.endpointUrl, samplingInterval: '100ms', publishingInterval: '100ms', tags: sim.points.map((p) => ({ id: p.tag, nodeId: p.nodeId })) }],
    },
    'test',
  );
  source = new OpcuaSource(cfg.sources[0] as OpcuaSourceConfig, { logger, pkiDir: join(dir, 'edge-pki') });
  source.readings$.subscribe((batch) => good.push(...batch.filter((r) => r.quality === Quality.Good)));
  await source.start();
});

afterAll(async () => {
  await source?.stop();
  await sim?.stop();
});

/**
 * Lets what was in flight land, then expects no new readings for longer than the source waits
 * before it calls a silent link lost: keep-alives still arrive, so the link stays up.
 */
async function expectQuietWhilePaused(): Promise<void> {
  await sleep(500);
  const before = good.length;
  await sleep(3_500);
  expect(good.length - before).toBe(0);
  expect(source.state).toBe('connected');
}

describe('pause and resume', () => {
  it('no new readings while paused; they flow again after resume', async () => {
    await waitFor('readings before pausing', () => good.length > 0, 15_000);
    source.pause();
    await expectQuietWhilePaused();
    const resumedAt = good.length;
    source.resume();
    await waitFor('readings after resume', () => good.length > resumedAt, 10_000);
  }, 30_000);

  it('a paused source stays paused on the subscription re-created for a new server instance', async () => {
    source.pause();
    const port = sim!.port;
    await sim!.stop();
    sim = await startSim(port);
    await waitFor('the source to be back', () => source.stats().reconnects >= 1, 30_000);
    await expectQuietWhilePaused();
    const resumedAt = good.length;
    source.resume();
    await waitFor('readings after resume', () => good.length > resumedAt, 10_000);
  }, 60_000);
});
