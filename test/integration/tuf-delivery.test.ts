// Signed distribution, accepted paths: install then a newer release, over a directory and over
// HTTP through the same client, models placed by hash, and root rotation v1 -> v4 on removable media.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve, sep } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { trustStatus, updateFrom, type TrustStore } from '../../edge/policy/update/index.js';
import { addTargets, issueAssignment, modelTargetsFromDir, publish, rotateRoot, type RepositoryRoles } from '../../hub/registry/index.js';
import { policyTarget } from '../../protocols/tuf/index.js';
import { EDGE, HOUR_MS, exportMedia, key, makeHub, newEdge, policyText, release, rolesFor, type HubFixture } from '../helpers/tuf-repo.js';

let fx: HubFixture;
let edge: TrustStore;
const at = (offsetMs: number) => ({ ...EDGE, now: () => fx.t0 + offsetMs });

beforeEach(() => {
  fx = makeHub();
  edge = newEdge(fx);
});
afterEach(() => {
  edge.close();
  rmSync(fx.tmp, { recursive: true, force: true });
});

function serve(dir: string): Promise<{ url: string; server: Server }> {
  const root = resolve(dir);
  const server = createServer((req, res) => {
    const path = resolve(root, '.' + decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (!path.startsWith(root + sep) || !existsSync(path) || !statSync(path).isFile()) {
      res.writeHead(404).end();
      return;
    }
    createReadStream(path).pipe(res);
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server })));
}

describe('tuf: delivery', () => {
  it('installs a policy, then a newer one; the same media again changes nothing', async () => {
    release(fx, 1);
    const first = await updateFrom(edge, exportMedia(fx), at(0));
    expect(first).toMatchObject({ installed: { version: 1, policyId: 'north-feeders', target: 'policies/north-feeders/1.yaml', changed: true } });
    release(fx, 2);
    const media = exportMedia(fx);
    const second = await updateFrom(edge, media, at(HOUR_MS));
    expect(second).toMatchObject({ installed: { version: 2, changed: true, policyText: policyText(2) } });
    expect(edge.installed()).toMatchObject({ version: 2, sha256: createHash('sha256').update(policyText(2)).digest('hex'), policyText: policyText(2) });
    expect(await updateFrom(edge, media, at(2 * HOUR_MS))).toMatchObject({ installed: { version: 2, changed: false } });
    expect(trustStatus(edge, fx.t0 + 2 * HOUR_MS)).toMatchObject({ expired: false, installed: { version: 2 } });
  });

  it('over HTTP through the same client, with model files placed by id and version', async () => {
    const models = modelTargetsFromDir('models/artifacts/feeder-hour-ahead');
    addTargets(fx.repo, { add: [{ target: policyTarget('north-feeders', 1), bytes: Buffer.from(policyText(1)) }, ...models] }, fx.keys.targets.slice(1), fx.opts);
    publish(fx.repo, { snapshot: [fx.keys.snapshot], timestamp: [fx.keys.timestamp] }, fx.opts);
    issueAssignment(fx.repo, { ...EDGE, policy: policyTarget('north-feeders', 1), models: models.map((m) => m.target) }, [fx.keys.assignment], fx.opts);
    const { url, server } = await serve(exportMedia(fx));
    try {
      const modelsDir = join(fx.tmp, 'models');
      const r = await updateFrom(edge, url, { ...at(0), modelsDir });
      expect(r).toMatchObject({ installed: { version: 1 } });
      const placed = 'installed' in r ? r.installed.models : [];
      expect(placed.map((m) => m.target).sort()).toEqual(models.map((m) => m.target).sort());
      const version = JSON.parse(readFileSync('models/artifacts/feeder-hour-ahead/card.json', 'utf8')).version as string;
      const onnx = join(modelsDir, 'feeder-hour-ahead', version, 'model.onnx');
      expect(readFileSync(onnx).equals(readFileSync('models/artifacts/feeder-hour-ahead/model.onnx'))).toBe(true);
    } finally {
      await new Promise((ok) => server.close(ok));
    }
  });

  it('a source that is not there is refused, and nothing changes', async () => {
    release(fx, 1);
    const before = edge.metadata('root');
    const r = await updateFrom(edge, join(fx.tmp, 'no-such-media'), at(0));
    expect(r).toMatchObject({ refused: { code: 'EDGE_TUF_SOURCE_UNAVAILABLE' } });
    expect(edge.installed()).toBeUndefined();
    expect(edge.metadata('root')).toBe(before);
    expect(edge.metadata('timestamp')).toBeUndefined();
  });
});

describe('tuf: root rotation on removable media', () => {
  function rotateThreeTimes(): void {
    const k = fx.keys;
    const r = [...k.root, ...[4, 5, 6, 7].map((i) => key(fx.tmp, `root-${i}`))]; // r[0..6] = root-1..7
    const roles = (root: number[], extra: Partial<RepositoryRoles> = {}): RepositoryRoles => ({ ...rolesFor(k), root: { keys: root.map((i) => r[i]!), threshold: 2 }, ...extra });
    // Each new root is signed by 2 of the old root keys AND 2 of its own.
    rotateRoot(fx.repo, roles([1, 2, 3]), [r[0]!, r[1]!, r[3]!], fx.opts); // v2
    rotateRoot(fx.repo, roles([3, 4, 5]), [r[2]!, r[3]!, r[4]!], fx.opts); // v3
    const timestamp2 = key(fx.tmp, 'timestamp-2');
    rotateRoot(fx.repo, roles([4, 5, 6], { timestamp: { keys: [timestamp2], threshold: 1 } }), [r[3]!, r[4]!, r[5]!], fx.opts); // v4, new online timestamp key
    fx.keys.timestamp = timestamp2;
    expect(() => rotateRoot(fx.repo, roles([0, 1, 2]), [r[0]!, r[1]!], fx.opts)).toThrow(expect.objectContaining({ code: 'HUB_TUF_THRESHOLD_NOT_MET' }));
  }

  it('v1 -> v4 with every intermediate root is accepted', async () => {
    release(fx, 1);
    rotateThreeTimes();
    release(fx, 2);
    const r = await updateFrom(edge, exportMedia(fx), at(HOUR_MS));
    expect(r).toMatchObject({ installed: { version: 2 } });
    expect(JSON.parse(edge.metadata('root')!).signed.version).toBe(4);
  });

  it('the same media without 3.root.json is refused, the edge keeps root v1', async () => {
    release(fx, 1);
    rotateThreeTimes();
    release(fx, 2);
    const media = exportMedia(fx);
    rmSync(join(media, 'metadata', '3.root.json'));
    const r = await updateFrom(edge, media, at(HOUR_MS));
    expect(r).toMatchObject({ refused: { code: 'EDGE_TUF_ROOT_CHAIN_BROKEN' } });
    expect('refused' in r && r.refused.message).toMatch(/carries root v4 but not v3; this edge trusts root v1/);
    expect(JSON.parse(edge.metadata('root')!).signed.version).toBe(1);
    expect(edge.installed()).toBeUndefined();
  });
});
