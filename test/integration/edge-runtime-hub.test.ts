// The hub sees each edge's active policy and models, end to end over real servers: the hub (its
// TUF route and embedded broker), an agent that installs its signed policy from the hub and runs
// the shipped forecast model. The edge's State carries them; GET /api/edges shows them, and a new
// release, then an expiry (the agent's clock moved past the timestamp metadata), reach the hub.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeConfigSchema, hubConfigSchema, validateConfig } from '../../config/index.js';
import { startAgent, type Agent } from '../../edge/index.js';
import { buildHub, type Hub } from '../../hub/index.js';
import { loginToHub, type HubSession } from '../helpers/hub-login.js';
import { captureLogger } from '../helpers/logger.js';
import { DAY_MS, EDGE, makeHub, release, type HubFixture } from '../helpers/tuf-repo.js';
import { waitFor } from '../helpers/wait.js';

const CSV = fileURLToPath(new URL('../../simulators/data/pjm_aep.csv', import.meta.url));
const DAYTON = fileURLToPath(new URL('../../simulators/data/pjm_dayton.csv', import.meta.url));
const MODEL_DIR = fileURLToPath(new URL('../../models/artifacts/feeder-hour-ahead/', import.meta.url));
const { logger } = captureLogger('warn');

interface EdgeJson {
  id: string;
  policy: { id: string; version: number; sha256: string; expiresMs: number | null; expired: boolean } | null;
  models: { target: string; role: string; id: string; version: string; sha256: string }[];
}

let fx: HubFixture;
let hub: Hub;
let httpUrl: string;
let agent: Agent;
let skewMs = 0;
let viewer: HubSession;

async function edgeAtHub(): Promise<EdgeJson | undefined> {
  const res = await fetch(`${httpUrl}/api/edges`, { headers: viewer.headers });
  if (!res.ok) throw new Error(`GET /api/edges: ${res.status} ${await res.text()}`);
  return ((await res.json()) as EdgeJson[]).find((e) => e.id === EDGE.edgeId);
}

beforeAll(async () => {
  fx = makeHub();
  release(fx, 3);
  hub = await buildHub(
    validateConfig(hubConfigSchema, { http: { host: '127.0.0.1', port: 0 }, broker: { mode: 'embedded', host: '127.0.0.1', port: 0 }, storage: { dataDir: join(fx.tmp, 'hub') }, registry: { dir: fx.repo } }, 'test hub'),
    { logger },
  );
  const started = await hub.start();
  httpUrl = started.httpUrl;
  viewer = await loginToHub(hub);
  const config = validateConfig(
    edgeConfigSchema,
    {
      edge: { id: EDGE.edgeId, site: EDGE.siteId },
      hub: { mqttUrl: started.brokerUrl },
      storage: { dataDir: join(fx.tmp, 'edge') },
      sources: [{ kind: 'replay', name: 'feeders', file: CSV, readingsPerSecond: 20, tags: [{ id: 'feeder1.load', column: 'load' }] }],
      forecast: { timeout: '10s', targets: [{ id: 'feeder1-load', tag: 'feeder1.load', horizon: 'hour-ahead', model: MODEL_DIR, history: { file: DAYTON } }] },
      policy: { source: `${httpUrl}/tuf/`, every: '200ms', trustedRoot: join(fx.repo, 'metadata', '1.root.json') },
    },
    'test edge',
  );
  agent = await startAgent(config, { logger, now: () => Date.now() + skewMs });
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await hub?.stop();
  rmSync(fx.tmp, { recursive: true, force: true });
});

describe('the hub sees each edge’s active policy and models', () => {
  it('GET /api/edges shows the installed policy and the active model, then a new release, then its expiry', async () => {
    await waitFor('policy v3 at the hub', async () => (await edgeAtHub())?.policy?.version === 3, 30_000);
    const card = JSON.parse(readFileSync(join(MODEL_DIR, 'card.json'), 'utf8')) as { id: string; version: string; onnx: { sha256: string } };
    const first = (await edgeAtHub())!;
    const view = agent.policy!.current()!;
    expect(first.policy).toEqual({ id: 'north-feeders', version: 3, sha256: view.sha256, expiresMs: view.expiresMs, expired: false });
    expect(first.models).toEqual([{ target: 'feeder1-load', role: 'active', id: card.id, version: card.version, sha256: card.onnx.sha256 }]);

    release(fx, 4);
    await waitFor('policy v4 at the hub', async () => (await edgeAtHub())?.policy?.version === 4, 30_000);
    expect((await edgeAtHub())!.policy).toMatchObject({ id: 'north-feeders', version: 4, sha256: agent.policy!.current()!.sha256, expired: false });

    skewMs = 2 * DAY_MS; // past the timestamp metadata's 1-day expiry, at the edge only
    await waitFor('the expiry at the hub', async () => (await edgeAtHub())?.policy?.expired === true, 30_000);
    expect((await edgeAtHub())!.policy).toMatchObject({ version: 4, expired: true });
  }, 90_000);
});
