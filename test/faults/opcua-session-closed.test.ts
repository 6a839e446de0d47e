/**
 * The OPC UA server closes every session (as a device does when sessions time out, or when it
 * restarts its application but not its network stack) while the connection stays open, so no
 * connection_lost ever fires. The source notices the silence, session and subscription are
 * re-created, and every tag flows again; the loss is recorded once, as stale readings, and the
 * return counted as a reconnect.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeConfigSchema, validateConfig, type OpcuaSourceConfig } from '../../config/index.js';
import { OpcuaSource } from '../../edge/sources/opcua.js';
import { Quality, type Reading } from '../../protocols/index.js';
import { captureLogger } from '../helpers/logger.js';
import type { SubstationHandle } from '../../simulators/index.js';
import { startTestSubstation } from '../helpers/slice.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'gridos-uasession-'));
const { logger, records } = captureLogger('info');
let sim: SubstationHandle;
let source: OpcuaSource | undefined;

beforeAll(async () => {
  sim = await startTestSubstation(dir, logger);
});

afterAll(async () => {
  await source?.stop();
  await sim?.stop();
});

describe('the server closes the session under a live connection', () => {
  it('the loss is recorded, session and subscription are re-created, and every tag flows again', async () => {
    const cfg = validateConfig(
      edgeConfigSchema,
      {
        edge: { id: 'edge-s', site: 'site-s' },
        hub: { mqttUrl: 'mqtt://127.0.0.1:1' },
        storage: { dataDir: '/unused' },
        sources: [{ kind: 'opcua', name: 'substation', endpoint: sim.endpointUrl, samplingInterval: '100ms', publishingInterval: '100ms', tags: sim.points.map((p) => ({ id: p.tag, nodeId: p.nodeId })) }],
      },
      'test',
    );
    source = new OpcuaSource(cfg.sources[0] as OpcuaSourceConfig, { logger, pkiDir: join(dir, 'edge-pki') });
    const received: (Reading & { atMs: number })[] = [];
    source.readings$.subscribe((batch) => received.push(...batch.map((r) => ({ ...r, atMs: Date.now() }))));
    await source.start();
    const tags = sim.points.filter((p) => !p.writable).map((p) => p.tag);
    const flowsSince = (t0: number) => tags.every((tag) => received.some((r) => r.tagId === tag && r.quality === Quality.Good && r.atMs > t0));
    await waitFor('readings of every tag', () => flowsSince(0), 15_000);

    expect(sim.closeSessions()).toBe(1);
    const closedAt = Date.now();
    await waitFor('the source to notice and come back', () => source!.stats().reconnects >= 1, 30_000);
    await waitFor('readings of every tag on the new session', () => flowsSince(closedAt), 10_000);
    expect(received.filter((r) => r.quality === Quality.Stale && r.atMs >= closedAt).map((r) => r.tagId)).toEqual(expect.arrayContaining(tags));
    // One warning for the loss, however many attempts it took.
    expect(records.filter((r) => r.msg === 'OPC UA link lost; reconnecting')).toHaveLength(1);
  }, 60_000);
});
