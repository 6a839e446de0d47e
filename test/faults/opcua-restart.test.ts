/**
 * The OPC UA server restarts under the edge: stop the simulator's server for 5 s and start it
 * again on the same port, five times in a row. After each return, readings of every monitored
 * item flow again within 10 s, and each outage is recorded as a quality event (a stale reading
 * per tag at the moment the link was lost) and counted as a reconnect, never silently hidden.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import { startAgent, type Agent } from '../../edge/index.js';
import { Quality } from '../../protocols/index.js';
import { startSubstation, substationDefaults, type SubstationHandle } from '../../simulators/index.js';
import { captureLogger } from '../helpers/logger.js';
import { edgeConfigFor } from '../helpers/slice.js';
import { waitFor } from '../helpers/wait.js';

const RESTARTS = 5;
const dir = mkdtempSync(join(tmpdir(), 'gridos-uarestart-'));
const { logger, records } = captureLogger('info');
let sim: SubstationHandle | undefined;
let agent: Agent;
let port = 0;

const startSim = (p: number) => startSubstation({ ...substationDefaults, port: p, hourSeconds: 30, tickMs: 100, pkiDir: join(dir, 'sim-pki'), logger });

beforeAll(async () => {
  sim = await startSim(0);
  port = sim.port;
  // no hub: the edge works offline, and this test reads its store
  agent = await startAgent(edgeConfigFor(sim, { edge: { id: 'edge-ua', site: 'site-ua' }, hub: { mqttUrl: 'mqtt://127.0.0.1:1' }, storage: { dataDir: join(dir, 'edge') } }), { logger });
  await agent.sourcesReady;
}, 60_000);

// On failure, show what the source said about its link.
beforeEach(() => onTestFailed(() => {
  for (const r of records) if (r.component !== 'substation-sim') process.stderr.write(`${JSON.stringify(r)}\n`);
}));

afterAll(async () => {
  await agent?.stop();
  await sim?.stop();
});

describe(`the OPC UA server restarts ${RESTARTS} times`, () => {
  it('readings of every tag flow again within 10 s of each return, and each outage is a recorded quality event', async () => {
    const tags = sim!.points.map((p) => p.tag);
    const newest = (tag: string) => agent.store.readings(tag).filter((r) => r.quality === Quality.Good).at(-1)?.tsMs ?? 0;
    await waitFor('readings before the first restart', () => newest(tags[0]!) > 0, 10_000);
    for (let i = 0; i < RESTARTS; i++) {
      await sim!.stop();
      sim = undefined;
      const downAt = Date.now();
      await new Promise((r) => setTimeout(r, 5_000));
      sim = await startSim(port);
      const backAt = Date.now();
      for (const tag of tags.filter((t) => !t.includes('setpoint') && !t.includes('curtailment'))) {
        await waitFor(`${tag} to flow again after restart ${i + 1}`, () => newest(tag) > backAt, 10_000, 100);
      }
      const stale = agent.store.readings(tags[0]!).filter((r) => r.quality === Quality.Stale && r.tsMs >= downAt - 1_000 && r.tsMs <= backAt);
      expect(stale.length, `restart ${i + 1}`).toBeGreaterThanOrEqual(1);
    }
    expect(agent.sources[0]!.stats().reconnects).toBeGreaterThanOrEqual(RESTARTS);
  }, 200_000);
});
