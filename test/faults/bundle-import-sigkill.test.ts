/**
 * SIGKILL `gridos bundle import` 50 times at random moments (from process start to past the end
 * of a full import), on bundles of rising policy versions mixed with the one before (which must be
 * refused as a rollback). After every kill the trust store holds exactly one complete release:
 * the installed text hashes to its recorded sha256, is the text of the version it names, agrees
 * with the trusted targets metadata and the accepted assignment, and its version never decreases.
 * The edge's audit chain (audit.db, appended by each import) verifies after every kill, and the
 * installs it records rise in version. No timing is asserted; the kill moments only spread over the run.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEdgeAudit } from '../../edge/audit/index.js';
import { TrustStore } from '../../edge/policy/update/index.js';
import { recordOfRow } from '../../protocols/audit/index.js';
import { GRIDOS_BIN, startGridos } from '../helpers/cli.js';
import { writeEdgeConfig } from '../helpers/edge-process.js';
import { EDGE, exportMedia, makeHub, policyText, release, type HubFixture } from '../helpers/tuf-repo.js';

const KILLS = 50;
const VERSIONS = 14;
/** Bundle for kill i: versions rise every 4 kills, every other kill takes the next one up. */
const versionFor = (i: number) => Math.min(VERSIONS, 1 + Math.floor(i / 4) + (i % 2));

let fx: HubFixture;
let configFile: string;
let trustDb: string;
let dataDir: string;
let childTmp: string;
const bundles = new Map<number, string>();

beforeAll(() => {
  if (!existsSync(GRIDOS_BIN) || !existsSync(join(GRIDOS_BIN, '..', 'bundle.js'))) execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'pipe', timeout: 150_000 });
  fx = makeHub();
  for (let v = 1; v <= VERSIONS; v++) {
    release(fx, v);
    bundles.set(v, exportMedia(fx));
  }
  dataDir = join(fx.tmp, 'edge');
  trustDb = join(dataDir, 'trust.db');
  childTmp = join(fx.tmp, 'child-tmp');
  mkdirSync(childTmp);
  configFile = writeEdgeConfig(fx.tmp, { edge: { id: EDGE.edgeId, site: EDGE.siteId }, hub: { mqttUrl: 'mqtt://127.0.0.1:1883' }, storage: { dataDir }, sources: [{ kind: 'replay', name: 'r', file: 'x.csv', tags: [{ id: 'load' }] }] });
}, 180_000);
afterAll(() => rmSync(fx.tmp, { recursive: true, force: true }));

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function importBundle(version: number, killAfterMs?: number) {
  const run = startGridos(['bundle', 'import', bundles.get(version)!, '--config', configFile, '--root', join(fx.repo, 'metadata', '1.root.json')], { env: { TMPDIR: childTmp } });
  const timer = killAfterMs === undefined ? undefined : setTimeout(() => run.child.kill('SIGKILL'), killAfterMs);
  const exit = await run.exited;
  clearTimeout(timer);
  return { ...exit, output: run.output() };
}

/** The store after a run: one complete release or none; returns the installed version (0 for none). */
function checkStore(): number {
  const store = new TrustStore(trustDb);
  try {
    const p = store.installed();
    if (!p) {
      expect(store.assignment().version).toBe(0);
      return 0;
    }
    expect(sha256(p.policyText)).toBe(p.sha256);
    expect(p.policyText).toBe(policyText(p.version));
    expect(p.target).toBe(`policies/north-feeders/${p.version}.yaml`);
    const targets = JSON.parse(store.metadata('targets')!) as { signed: { targets: Record<string, { hashes: { sha256: string } }> } };
    expect(targets.signed.targets[p.target]?.hashes.sha256).toBe(p.sha256);
    const assignment = JSON.parse(store.assignment().json!) as { signed: { version: number; policy: { target: string; sha256: string } } };
    expect(assignment.signed.policy).toMatchObject({ target: p.target, sha256: p.sha256 });
    expect(assignment.signed.version).toBe(store.assignment().version);
    return p.version;
  } finally {
    store.close();
  }
}

/** The audit chain verifies; returns the versions of its policy.installed records, in order. */
function checkAudit(): number[] {
  const audit = openEdgeAudit(dataDir, EDGE.edgeId);
  try {
    expect(audit.log.verify()).toMatchObject({ ok: true });
    return audit.log.rows().map(recordOfRow).filter((r) => r.kind === 'policy.installed').map((r) => (r.body as { version: number }).version);
  } finally {
    audit.close();
  }
}

describe('bundle import under SIGKILL', () => {
  it(`${KILLS} kills: the store always holds one complete release, and its version never decreases`, async () => {
    const started = Date.now();
    const full = await importBundle(1);
    expect(full.code, full.output).toBe(0);
    const fullRunMs = Date.now() - started;
    let installed = checkStore();
    expect(installed).toBe(1);

    const outcomes = { killed: 0, installed: 0, refused: 0 };
    for (let i = 0; i < KILLS; i++) {
      const version = versionFor(i);
      const r = await importBundle(version, Math.floor(Math.random() * fullRunMs * 1.2));
      if (r.signal === 'SIGKILL') outcomes.killed++;
      else if (r.code === 0) outcomes.installed++;
      else {
        outcomes.refused++;
        // A run that was not killed and failed may only be a refusal with a code: a rollback to the older bundle.
        expect(r.output, `kill ${i}, bundle v${version}`).toMatch(/EDGE_TUF_ROLLBACK/);
      }
      const now = checkStore();
      expect(now, `kill ${i}, bundle v${version}: installed went from v${installed} to v${now}`).toBeGreaterThanOrEqual(installed);
      expect(now).toBeLessThanOrEqual(Math.max(installed, version));
      installed = now;
      const recorded = checkAudit();
      expect(recorded, `kill ${i}`).toEqual([...recorded].sort((a, b) => a - b));
      expect(new Set(recorded).size).toBe(recorded.length);
    }
    expect(outcomes.killed + outcomes.installed + outcomes.refused).toBe(KILLS);

    // Nothing is wedged: the newest bundle installs.
    const last = await importBundle(VERSIONS);
    expect(last.code, last.output).toBe(0);
    expect(checkStore()).toBe(VERSIONS);
    expect(checkAudit().at(-1)).toBe(VERSIONS);
  }, 120_000);
});
