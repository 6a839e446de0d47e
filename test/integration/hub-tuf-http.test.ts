// The hub serves its TUF repository at /tuf/ (config `registry.dir`): files through inject(), no
// path outside the repository, and an edge installing a policy from a real listening hub over HTTP.
import { readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hubConfigSchema, validateConfig } from '../../config/index.js';
import { updateFrom, type TrustStore } from '../../edge/policy/update/index.js';
import { buildHub, type Hub } from '../../hub/index.js';
import { EDGE, makeHub, newEdge, policyText, release, type HubFixture } from '../helpers/tuf-repo.js';
import { captureLogger } from '../helpers/logger.js';

let fx: HubFixture;
let hub: Hub;
let edge: TrustStore;

beforeEach(async () => {
  fx = makeHub();
  release(fx, 3);
  const config = validateConfig(hubConfigSchema, { http: { port: 0 }, storage: { dataDir: join(fx.tmp, 'hub') }, registry: { dir: fx.repo } }, 'test');
  hub = await buildHub(config, { logger: captureLogger('warn').logger });
  edge = newEdge(fx);
});
afterEach(async () => {
  edge.close();
  await hub.stop();
  rmSync(fx.tmp, { recursive: true, force: true });
});

describe('hub: /tuf/ serves the registry', () => {
  it('serves metadata, target files and assignments as they are on disk; 404 for a missing file', async () => {
    const ts = await hub.app.inject({ method: 'GET', url: '/tuf/metadata/timestamp.json' });
    expect(ts.statusCode).toBe(200);
    expect(ts.body).toBe(readFileSync(join(fx.repo, 'metadata', 'timestamp.json'), 'utf8'));
    expect(ts.headers['cache-control']).toBe('no-store');
    const root = await hub.app.inject({ method: 'GET', url: '/tuf/metadata/1.root.json' });
    expect(root.statusCode).toBe(200);
    const a = await hub.app.inject({ method: 'GET', url: `/tuf/assignments/${EDGE.siteId}/${EDGE.edgeId}.json` });
    expect(JSON.parse(a.body)).toMatchObject({ signed: { edgeId: EDGE.edgeId, policy: { target: 'policies/north-feeders/3.yaml' } } });
    const sha = (JSON.parse(a.body) as { signed: { policy: { sha256: string } } }).signed.policy.sha256;
    const t = await hub.app.inject({ method: 'GET', url: `/tuf/targets/policies/north-feeders/${sha}.3.yaml` });
    expect(t.statusCode).toBe(200);
    expect(t.body).toBe(policyText(3));
    for (const url of ['/tuf/metadata/2.root.json', '/tuf/assignments/north/nobody.json', '/tuf/targets/policies', '/tuf/keys/root-1.key.pem']) {
      expect((await hub.app.inject({ method: 'GET', url })).statusCode, url).toBe(404);
    }
  });

  it('refuses paths that climb out of the repository, however they are spelled', async () => {
    writeFileSync(join(fx.tmp, 'secret.txt'), 'not for edges');
    symlinkSync(join(fx.tmp, 'secret.txt'), join(fx.repo, 'metadata', 'link.json'));
    for (const url of ['/tuf/metadata/../../secret.txt', '/tuf/metadata/%2e%2e/%2e%2e/secret.txt', '/tuf/metadata/..%2f..%2fsecret.txt', '/tuf/targets/..%5c..%5csecret.txt', '/tuf/metadata//1.root.json', '/tuf/metadata/', '/tuf/metadata/link.json']) {
      const r = await hub.app.inject({ method: 'GET', url });
      expect([400, 404], url).toContain(r.statusCode);
      expect(r.body, url).not.toContain('not for edges');
    }
    // An encoded '..' reaches the route decoded, and is refused by name.
    expect((await hub.app.inject({ method: 'GET', url: '/tuf/metadata/..%2f..%2fsecret.txt' })).json()).toMatchObject({ error: 'HUB_API_BAD_PATH' });
  });

  it('without registry.dir there is no /tuf/', async () => {
    const plain = await buildHub(validateConfig(hubConfigSchema, { http: { port: 0 }, storage: { dataDir: join(fx.tmp, 'hub2') } }, 'test'), { logger: captureLogger('warn').logger });
    try {
      expect((await plain.app.inject({ method: 'GET', url: '/tuf/metadata/1.root.json' })).statusCode).toBe(404);
    } finally {
      await plain.stop();
    }
  });

  it('an edge installs its assigned policy from a listening hub (port 0) over HTTP, then the next release', async () => {
    const url = await hub.app.listen({ host: '127.0.0.1', port: 0 });
    const first = await updateFrom(edge, `${url}/tuf/`, { ...EDGE });
    expect(first).toMatchObject({ installed: { version: 3, policyId: 'north-feeders', changed: true, policyText: policyText(3) } });
    release(fx, 4);
    expect(await updateFrom(edge, `${url}/tuf/`, { ...EDGE })).toMatchObject({ installed: { version: 4, changed: true } });
    expect(edge.installed()).toMatchObject({ version: 4, policyText: policyText(4) });
    expect(await updateFrom(edge, `${url}/tuf/`, { edgeId: 'edge-9', siteId: EDGE.siteId })).toMatchObject({ refused: { code: 'EDGE_TUF_NO_ASSIGNMENT' } });
  });
});
