// The voltage limits an edge enforces reach the operator, end to end over real servers: the hub
// (embedded broker), the OPC UA substation simulator and two edge agents. One has interlocks with
// a non-default band (0.95-1.04 pu) on the simulator's feeder voltage: its birth carries them, and
// GET /api/edges and the console's edge view (/api/console/edges/:id) give them back. The other has
// no interlocks: it reports none, and the hub says so instead of assuming a band.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeConfigSchema, hubConfigSchema, validateConfig } from '../../config/index.js';
import { startAgent, type Agent } from '../../edge/index.js';
import { buildHub, type Hub } from '../../hub/index.js';
import { edgeTagOf, startSubstation, substationDefaults, type SubstationHandle } from '../../simulators/index.js';
import { loginToHub, type HubSession } from '../helpers/hub-login.js';
import { captureLogger } from '../helpers/logger.js';
import { waitFor } from '../helpers/wait.js';

const CSV = fileURLToPath(new URL('../../simulators/data/pjm_aep.csv', import.meta.url));
const VOLTAGE = 'feeder1.voltage_pu';
const { logger } = captureLogger('warn');

let dir: string;
let hub: Hub;
let httpUrl: string;
let sim: SubstationHandle;
const agents: Agent[] = [];
let viewer: HubSession;

async function get<T>(path: string): Promise<T> {
  const res = await fetch(`${httpUrl}${path}`, { headers: viewer.headers });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

interface EdgeJson {
  id: string;
  agentVersion: string;
  voltageLimits: { tagId: string; interlockLowPu?: number; interlockHighPu?: number; curtailAbovePu?: number; releaseBelowPu?: number }[];
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gridos-voltage-limits-'));
  hub = await buildHub(validateConfig(hubConfigSchema, { http: { host: '127.0.0.1', port: 0 }, broker: { mode: 'embedded', host: '127.0.0.1', port: 0 }, storage: { dataDir: join(dir, 'hub') } }, 'test hub'), { logger });
  const started = await hub.start();
  httpUrl = started.httpUrl;
  viewer = await loginToHub(hub);
  sim = await startSubstation({ ...substationDefaults, port: 0, tickMs: 200, pkiDir: join(dir, 'sim-pki'), logger });
  const tags = [VOLTAGE, 'feeder1.active_power_kw'].map((t) => edgeTagOf(sim.points, t));
  const strict = validateConfig(
    edgeConfigSchema,
    {
      edge: { id: 'edge-strict', site: 'site-v' },
      hub: { mqttUrl: started.brokerUrl },
      storage: { dataDir: join(dir, 'edge-strict') },
      sources: [{ kind: 'opcua', name: 'substation', endpoint: sim.endpointUrl, samplingInterval: 200, publishingInterval: 200, tags }],
      dispatch: { interlocks: { socMinPct: 15, socMaxPct: 92, voltageBandPu: [0.95, 1.04], voltageTag: VOLTAGE, maxStepKw: 500 } },
    },
    'strict edge',
  );
  const plain = validateConfig(
    edgeConfigSchema,
    {
      edge: { id: 'edge-plain', site: 'site-v' },
      hub: { mqttUrl: started.brokerUrl },
      storage: { dataDir: join(dir, 'edge-plain') },
      sources: [{ kind: 'replay', name: 'feeders', file: CSV, readingsPerSecond: 20, tags: [{ id: 'feeder1.load', column: 'load' }] }],
    },
    'plain edge',
  );
  for (const config of [strict, plain]) agents.push(await startAgent(config, { logger }));
}, 60_000);

afterAll(async () => {
  for (const a of agents) await a.stop();
  await sim?.stop();
  await hub?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('the voltage limits each edge enforces, at the hub', () => {
  it('an edge with interlocks at 0.95-1.04 pu: its limits in GET /api/edges and in the console edge view', async () => {
    const edge = await waitFor('the strict edge’s birth at the hub', async () => (await get<EdgeJson[]>('/api/edges')).find((e) => e.id === 'edge-strict' && e.agentVersion !== ''), 20_000);
    expect(edge.voltageLimits).toEqual([{ tagId: VOLTAGE, interlockLowPu: 0.95, interlockHighPu: 1.04 }]);
    const view = await get<{ voltage: unknown; series: { voltage: { tag: string; points: unknown[] } } }>('/api/console/edges/edge-strict');
    expect(view.voltage).toEqual({ tag: VOLTAGE, limits: { interlockLowPu: 0.95, interlockHighPu: 1.04 } });
    expect(view.series.voltage.tag).toBe(VOLTAGE);
  }, 30_000);

  it('an edge without interlocks reports none, and the hub assumes no band', async () => {
    const edge = await waitFor('the plain edge’s birth at the hub', async () => (await get<EdgeJson[]>('/api/edges')).find((e) => e.id === 'edge-plain' && e.agentVersion !== ''), 20_000);
    expect(edge.voltageLimits).toEqual([]);
    const view = await get<{ voltage: unknown }>('/api/console/edges/edge-plain');
    expect(view.voltage).toEqual({ tag: VOLTAGE, limits: null });
  }, 30_000);
});
