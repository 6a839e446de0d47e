/**
 * SIGKILL the edge agent 50 times at random moments while it ingests about 5,000 readings/s (the
 * simulated substation over OPC UA plus a replay of real load data); then let it drain. Every reading the edge had committed (for an OPC UA source,
 * the moment a reading is accepted) is at the hub exactly once: 0 lost, 0 duplicated, and every
 * sequence number the edge handed out was received once.
 */
import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubConfigSchema, validateConfig, type EdgeConfigInput } from '../../config/index.js';
import { EdgeStore } from '../../edge/index.js';
import { buildHub, type Hub } from '../../hub/index.js';
import { startSubstation, substationDefaults, type SubstationHandle } from '../../simulators/index.js';
import { kill9, startEdgeProcess, waitUntilIngesting, writeEdgeConfig, type EdgeProcess } from '../helpers/edge-process.js';
import { captureLogger } from '../helpers/logger.js';
import { waitFor } from '../helpers/wait.js';

const KILLS = 50;
const dir = mkdtempSync(join(tmpdir(), 'gridos-sigkill-'));
const { logger } = captureLogger('error');
let hub: Hub;
let sim: SubstationHandle | undefined;
let edge: EdgeProcess | undefined;
let configFile = '';
let drainConfigFile = '';

beforeAll(async () => {
  hub = await buildHub(validateConfig(hubConfigSchema, { http: { port: 0 }, broker: { mode: 'embedded', port: 0 }, storage: { dataDir: join(dir, 'hub') } }, 'test'), { logger });
  const { brokerUrl } = await hub.start();
  sim = await startSubstation({ ...substationDefaults, feeders: 32, port: 0, hourSeconds: 30, tickMs: 20, pkiDir: join(dir, 'sim-pki'), logger });
  const base: EdgeConfigInput = {
    edge: { id: 'edge-k', site: 'site-k' },
    hub: { mqttUrl: brokerUrl },
    storage: { dataDir: join(dir, 'edge') },
    uplink: { flushInterval: '100ms', ackTimeout: '2s' },
    log: { level: 'info' },
    sources: [
      { kind: 'opcua', name: 'substation', endpoint: sim.endpointUrl, samplingInterval: '20ms', publishingInterval: '100ms', tags: sim.points.map((p) => ({ id: p.tag, nodeId: p.nodeId, min: p.minValue, max: p.maxValue })) },
      // ~1.2 k readings/s come from the OPC UA simulator; a replay of real load data brings the edge to ~5 k/s
      {
        kind: 'replay',
        name: 'feeders',
        file: fileURLToPath(new URL('../../simulators/data/pjm_dayton.csv', import.meta.url)),
        readingsPerSecond: 4000,
        batchInterval: '50ms',
        tags: Array.from({ length: 40 }, (_, i) => ({ id: `replay.feeder${i + 1}.active_power_kw`, scale: 1000 / (i + 2), min: 0, max: 1e7 })),
      },
    ],
  };
  configFile = writeEdgeConfig(dir, base);
  // The same edge and store with only the (then stopped) OPC UA source: for the final drain.
  drainConfigFile = writeEdgeConfig(dir, { ...base, sources: base.sources.slice(0, 1) }, 'edge-drain.yaml');
}, 60_000);

afterAll(async () => {
  if (edge) await kill9(edge);
  await sim?.stop();
  await hub?.stop();
});

function edgeDb<T>(fn: (db: Database.Database) => T): T {
  const db = new Database(join(dir, 'edge', 'edge.db'), { readonly: true, fileMustExist: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

describe(`SIGKILL the edge ${KILLS} times during ingestion`, () => {
  it('every committed reading reaches the hub exactly once', async () => {
    for (let i = 0; i < KILLS; i++) {
      edge = startEdgeProcess(configFile);
      await waitUntilIngesting(edge);
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 700));
      await kill9(edge);
    }
    // the broker published the edge's last will: the hub shows it offline
    await waitFor('the hub to see the edge offline', () => hub.store.edges()[0]?.online === false, 10_000);
    expect(hub.store.edges()[0]?.stateReason).toBe('connection lost');
    // raw readings are in per-tag chunks, or still in the journal (compacted on the next start)
    const committed = edgeDb((db) => db.prepare('SELECT (SELECT coalesce(SUM(count), 0) FROM reading_chunks) + (SELECT coalesce(SUM(readings), 0) FROM reading_frames)').pluck().get() as number);
    expect(committed).toBeGreaterThan(KILLS * 50);

    // Stop the source, start the edge once more and let it drain everything it holds.
    await sim!.stop();
    sim = undefined;
    edge = startEdgeProcess(drainConfigFile);
    const started = edge;
    await waitFor('the edge to start', () => started.output().includes('"msg":"edge agent started"'), 20_000, 50);
    await waitFor('the outbox to drain', () => edgeDb((db) => db.prepare('SELECT COUNT(*) FROM outbox').pluck().get() === 0), 60_000, 250);
    expect(hub.store.edges()[0]?.online).toBe(true);
    edge.child.kill('SIGTERM');
    expect(await edge.exited).toBe(0);
    await waitFor('the hub to see the edge stopped', () => hub.store.edges()[0]?.stateReason === 'agent stopped', 15_000);
    expect(hub.store.edges()[0]?.online).toBe(false);
    edge = undefined;

    const lastSeq = edgeDb((db) => Number(db.prepare("SELECT value FROM meta WHERE key = 'last_seq'").pluck().get()));
    const atHub = hub.store.edges().find((e) => e.id === 'edge-k')!;
    expect(atHub.ackedThrough).toBe(lastSeq);

    const tags = edgeDb((db) => db.prepare('SELECT DISTINCT tag_id FROM reading_chunks ORDER BY 1').pluck().all() as string[]);
    expect(edgeDb((db) => db.prepare('SELECT SUM(count) FROM reading_chunks').pluck().get())).toBe(committed);
    let total = 0;
    for (const tag of tags) {
      const store = new EdgeStore(join(dir, 'edge', 'edge.db'));
      const mine = store.readings(tag).map(({ tsMs, value, quality, flags }) => ({ tsMs, value, quality, flags: flags ?? 0 }));
      store.close();
      const theirs = hub.store.readings('edge-k', tag, 0, Number.MAX_SAFE_INTEGER, 1_000_000);
      expect(theirs, tag).toEqual(mine);
      total += theirs.length;
    }
    expect(total).toBe(committed);
    const dup = await hub.metrics.registry.getSingleMetricAsString('gridos_hub_duplicate_readings_total');
    expect(dup).toMatch(/gridos_hub_duplicate_readings_total 0$/m);
    const gaps = hub.store.gaps('edge-k');
    expect(gaps).toEqual([]);
  }, 400_000);
});
