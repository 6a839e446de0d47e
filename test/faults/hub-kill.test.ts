/**
 * Kill the hub process (SIGKILL, embedded broker and all) during ingestion and start it again on
 * the same store: the edge reconnects and resends what was not acknowledged, and the hub ends up
 * with every reading once: no duplicate rows, no gaps, every seq received.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startAgent, type Agent } from '../../edge/index.js';
import { Quality } from '../../protocols/index.js';
import type { SubstationHandle } from '../../simulators/index.js';
import { startGridos } from '../helpers/cli.js';
import { captureLogger } from '../helpers/logger.js';
import { freePort } from '../helpers/ports.js';
import { edgeConfigFor, startTestSubstation } from '../helpers/slice.js';
import { addHubUser, loginOverHttp } from '../helpers/hub-login.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'gridos-hubkill-'));
const { logger } = captureLogger('error');
const EDGE = 'edge-hk';
let hubProc: ReturnType<typeof startGridos> | undefined;
let hubConfig = '';
let httpUrl = '';
let sim: SubstationHandle;
let agent: Agent;

async function startHub(): Promise<void> {
  const proc = startGridos(['hub', '--config', hubConfig, '--log-format', 'json']);
  hubProc = proc;
  await waitFor('the hub to start', () => proc.output().includes('"msg":"hub started"') || (proc.child.exitCode !== null ? Promise.reject(new Error(proc.output())) : false), 20_000, 50);
}

async function killHub(): Promise<void> {
  hubProc!.child.kill('SIGKILL');
  await hubProc!.exited;
}

const hubDb = <T>(fn: (db: Database.Database) => T): T => {
  const db = new Database(join(dir, 'hub', 'hub.db'), { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
};

beforeAll(async () => {
  const [httpPort, mqttPort] = [await freePort(), await freePort()];
  httpUrl = `http://127.0.0.1:${httpPort}`;
  hubConfig = join(dir, 'hub.yaml');
  writeFileSync(hubConfig, stringify({ http: { port: httpPort }, broker: { mode: 'embedded', port: mqttPort }, storage: { dataDir: join(dir, 'hub') } }));
  await addHubUser(join(dir, 'hub'), 'watcher');
  await startHub();
  sim = await startTestSubstation(dir, logger, { feeders: 8, tickMs: 50 });
  agent = await startAgent(edgeConfigFor(sim, { edge: { id: EDGE, site: 'site-hk' }, hub: { mqttUrl: `mqtt://127.0.0.1:${mqttPort}` }, storage: { dataDir: join(dir, 'edge') } }), { logger });
  await agent.sourcesReady;
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await sim?.stop();
  if (hubProc && hubProc.child.exitCode === null) await killHub();
});

describe('the hub process killed during ingestion', () => {
  it('restarts on its store with no duplicate rows and nothing missing', async () => {
    // sessions live in the hub's store: one login outlives the kills
    const { headers } = await loginOverHttp(httpUrl, 'watcher');
    for (let i = 0; i < 3; i++) {
      await waitFor('ingestion to be under way', async () => (((await (await fetch(`${httpUrl}/api/edges`, { headers })).json()) as { lastSeq: number }[])[0]?.lastSeq ?? 0) > 0, 15_000);
      await new Promise((r) => setTimeout(r, 1_000 + Math.random() * 1_000));
      await killHub();
      await new Promise((r) => setTimeout(r, 1_500));
      await startHub();
    }
    await sim.stop();
    // The source records the lost link as a stale reading per tag; that too must reach the hub
    // before the comparison, so wait for it to be stored first.
    await waitFor('the lost link recorded', () => agent.store.readings(sim.points[0]!.tag).at(-1)?.quality === Quality.Stale, 40_000);
    await waitFor('an empty outbox', () => agent.store.outboxDepth() === 0, 40_000);
    // Everything up to here is acknowledged; the agent may still close an aggregate window later.
    const acknowledgedSeq = agent.store.lastSeq();
    await killHub(); // read its file at rest

    const tags = sim.points.map((p) => p.tag);
    const { rows, distinct, ackedThrough } = hubDb((db) => ({
      rows: db.prepare('SELECT COUNT(*) FROM readings').pluck().get() as number,
      distinct: db.prepare('SELECT COUNT(*) FROM (SELECT DISTINCT series_id, ts_ms FROM readings)').pluck().get() as number,
      ackedThrough: db.prepare('SELECT acked_through FROM edges WHERE id = ?').pluck().get(EDGE) as number,
    }));
    expect(rows).toBe(distinct);
    expect(ackedThrough).toBeGreaterThanOrEqual(acknowledgedSeq);
    let total = 0;
    for (const tag of tags) {
      const mine = agent.store.readings(tag).map(({ tsMs, value }) => [tsMs, value]);
      const theirs = hubDb((db) => db.prepare('SELECT r.ts_ms, r.value FROM readings r JOIN series s ON s.id = r.series_id WHERE s.edge_id = ? AND s.tag_id = ? ORDER BY r.ts_ms').raw().all(EDGE, tag));
      expect(theirs, tag).toEqual(mine);
      total += mine.length;
    }
    expect(total).toBe(rows);
    expect(hubDb((db) => db.prepare('SELECT COUNT(*) FROM gaps').pluck().get())).toBe(0);
  }, 120_000);
});
