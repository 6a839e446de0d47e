/**
 * Signed policy distribution through the built `gridos` command, as operators run it:
 * keys init -> policy sign (2 of 3 owners) -> publish -> assign -> bundle export -> bundle import
 * on an edge config -> policy status; and the refusals: too few signers, a first import without
 * --root, media missing an intermediate root after two rotations.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGridos, type CliResult } from '../helpers/cli.js';
import { writeEdgeConfig } from '../helpers/edge-process.js';
import { openEdgeAudit } from '../../edge/audit/index.js';
import { recordOfRow, type AuditRecord } from '../../protocols/audit/index.js';

/** The audit chain `gridos bundle import` appended to, as the agent would have (<dataDir>/audit.db). */
function auditOf(name: string): AuditRecord[] {
  const a = openEdgeAudit(join(dir, name), 'edge-1');
  try {
    expect(a.log.verify().ok).toBe(true);
    return a.log.rows().map(recordOfRow);
  } finally {
    a.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'gridos-policy-cli-'));
const keys = join(dir, 'keys');
const repo = join(dir, 'repo');
const rootV1 = join(repo, 'metadata', '1.root.json');
const EXAMPLE = readFileSync('config/policy.example.yaml', 'utf8');
const CLI_TIMEOUT_MS = 20_000;

function policyFile(version: number): string {
  const file = join(dir, `north-feeders-${version}.yaml`);
  writeFileSync(file, EXAMPLE.replace(/^version: \d+$/m, `version: ${version}`));
  return file;
}
const key = (name: string) => join(keys, `${name}.key.pem`);
const pub = (name: string) => join(keys, `${name}.pub.pem`);

function edgeConfig(name: string, edgeId = 'edge-1'): string {
  return writeEdgeConfig(dir, { edge: { id: edgeId, site: 'north' }, hub: { mqttUrl: 'mqtt://127.0.0.1:1883' }, storage: { dataDir: join(dir, name) }, sources: [{ kind: 'replay', name: 'r', file: 'x.csv', tags: [{ id: 'load' }] }] }, `${name}.yaml`);
}

async function gridos(...args: string[]): Promise<CliResult> {
  return runGridos(args, { timeoutMs: CLI_TIMEOUT_MS });
}
async function ok(...args: string[]): Promise<CliResult> {
  const r = await gridos(...args);
  expect(r.code, `gridos ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r;
}

beforeAll(() => {
}, 180_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('gridos keys, policy, bundle', () => {
  it('keys init -> sign with 2 of 3 -> publish -> assign -> export -> import -> status shows it installed', async () => {
    const init = await ok('keys', 'init', '--keys', keys, '--repo', repo);
    expect(init.stdout).toContain('root 2 of 3, targets 2 of 3');
    expect(init.stderr).toMatch(/WARNING: root-\*\.key\.pem and targets-\*\.key\.pem are OFFLINE keys/);

    const sign = await ok('policy', 'sign', '--repo', repo, '--policy', policyFile(7), '--key', key('targets-1'), '--key', key('targets-3'));
    expect(sign.stdout).toContain('signed policies/north-feeders/7.yaml into targets v1');
    expect((await ok('policy', 'publish', '--repo', repo, '--keys', keys)).stdout).toContain('published targets v1: snapshot v1, timestamp v1');
    expect((await ok('policy', 'assign', '--repo', repo, '--keys', keys, '--site', 'north', '--edge', 'edge-1', '--policy', 'policies/north-feeders/7.yaml')).stdout).toContain('assignment v1');

    const status = JSON.parse((await ok('policy', 'status', '--repo', repo, '--json')).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({
      root: { version: 1, threshold: 2 },
      targets: { version: 1, threshold: 2 },
      snapshot: { version: 1 },
      timestamp: { version: 1 },
      publishedTargetsVersion: 1,
      targetFiles: [{ name: 'policies/north-feeders/7.yaml' }],
      assignments: [{ siteId: 'north', edgeId: 'edge-1', version: 1, policy: 'policies/north-feeders/7.yaml' }],
    });

    const media = join(dir, 'media-1');
    expect((await ok('bundle', 'export', '--repo', repo, '--out', media)).stdout).toMatch(/exported \d+ files .* \(1 assignment\(s\)\)/);
    const edge = edgeConfig('edge-a');
    expect(JSON.parse((await ok('policy', 'status', '--config', edge, '--json')).stdout)).toMatchObject({ state: 'NOT_PROVISIONED' });

    const imported = await ok('bundle', 'import', media, '--config', edge, '--root', rootV1);
    expect(imported.stdout).toContain('installed policy north-feeders version 7 (policies/north-feeders/7.yaml');
    expect(imported.stderr).toMatch(/trust provisioned from .*1\.root\.json: root v1, sha256 [0-9a-f]{64}/);

    const edgeStatus = JSON.parse((await ok('policy', 'status', '--config', edge, '--json')).stdout) as Record<string, unknown>;
    expect(edgeStatus).toMatchObject({ state: 'ACTIVE', rootVersion: 1, expired: false, assignmentVersion: 1, policy: { id: 'north-feeders', version: 7 } });
    expect(edgeStatus).toMatchObject({ lastInstall: { policyId: 'north-feeders', version: 7, targetsVersion: 1, source: media, previous: null } });
    expect(edgeStatus['lastRefusal']).toBeUndefined();
    expect(auditOf('edge-a')).toEqual([expect.objectContaining({ seq: 1, kind: 'policy.installed', subject: { policyId: 'north-feeders' } })]);
    expect((edgeStatus as { policy: { sha256: string } }).policy.sha256).toBe(createHash('sha256').update(readFileSync(policyFile(7))).digest('hex'));
    expect((await ok('policy', 'status', '--config', edge)).stdout).toMatch(/edge north\/edge-1: ACTIVE[\s\S]*policy +north-feeders version 7[\s\S]*expires +\S+[\s\S]*time floor/);
    expect((await ok('bundle', 'import', media, '--config', edge)).stdout).toContain('already installed policy north-feeders version 7');
    expect(auditOf('edge-a')).toHaveLength(1);
  }, 120_000);

  it('refusals: 1 of 3 targets keys, a policy that does not validate, a first import without --root, an edge without an assignment', async () => {
    const one = await gridos('policy', 'sign', '--repo', repo, '--policy', policyFile(8), '--key', key('targets-2'));
    expect(one.code).toBe(1);
    expect(one.stderr).toContain('HUB_TUF_THRESHOLD_NOT_MET: targets needs 2 of its 3 keys, got 1; nothing was written');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'id: north-feeders\nversion: 9\nrules: nope\n');
    const invalid = await gridos('policy', 'sign', '--repo', repo, '--policy', bad, '--key', key('targets-1'), '--key', key('targets-2'));
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('HUB_TUF_BAD_TARGET');
    expect(JSON.parse((await ok('policy', 'status', '--repo', repo, '--json')).stdout)).toMatchObject({ targets: { version: 1 } });

    const media = join(dir, 'media-refusals');
    await ok('bundle', 'export', '--repo', repo, '--out', media);
    const noRoot = await gridos('bundle', 'import', media, '--config', edgeConfig('edge-b'));
    expect(noRoot.code).toBe(1);
    expect(noRoot.stderr).toContain('EDGE_TUF_NOT_PROVISIONED');
    const stranger = await gridos('bundle', 'import', media, '--config', edgeConfig('edge-c', 'edge-9'), '--root', rootV1);
    expect(stranger.code).toBe(1);
    expect(stranger.stderr).toContain('EDGE_TUF_NO_ASSIGNMENT');
    expect(auditOf('edge-c')).toEqual([expect.objectContaining({ kind: 'policy.refused', subject: {}, body: expect.objectContaining({ code: 'EDGE_TUF_NO_ASSIGNMENT', active: null, source: media }) })]);
  }, 60_000);

  it('after two root rotations, media without 2.root.json is refused (EDGE_TUF_ROOT_CHAIN_BROKEN); complete media installs', async () => {
    await ok('keys', 'generate', '--keys', keys, 'root-4', 'root-5');
    // v2: root-2, root-3, root-4 (2 of 3), signed by 2 of the v1 keys and 2 of its own
    await ok('keys', 'rotate-root', '--repo', repo, '--sign', key('root-1'), '--sign', key('root-2'), '--sign', key('root-4'), '--new-root-key', pub('root-2'), '--new-root-key', pub('root-3'), '--new-root-key', pub('root-4'));
    const short = await gridos('keys', 'rotate-root', '--repo', repo, '--sign', key('root-3'), '--new-root-key', pub('root-3'), '--new-root-key', pub('root-4'), '--new-root-key', pub('root-5'));
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('HUB_TUF_THRESHOLD_NOT_MET');
    const v3 = await ok('keys', 'rotate-root', '--repo', repo, '--sign', key('root-2'), '--sign', key('root-3'), '--sign', key('root-5'), '--new-root-key', pub('root-3'), '--new-root-key', pub('root-4'), '--new-root-key', pub('root-5'));
    expect(v3.stdout).toContain('root v3, 2 of 3 keys');
    await ok('policy', 'sign', '--repo', repo, '--policy', policyFile(8), '--key', key('targets-2'), '--key', key('targets-3'));
    await ok('policy', 'publish', '--repo', repo, '--keys', keys);
    await ok('policy', 'assign', '--repo', repo, '--keys', keys, '--site', 'north', '--edge', 'edge-1', '--policy', 'policies/north-feeders/8.yaml');

    const media = join(dir, 'media-rotated');
    await ok('bundle', 'export', '--repo', repo, '--out', media);
    const gap = join(dir, 'media-gap');
    await ok('bundle', 'export', '--repo', repo, '--out', gap);
    rmSync(join(gap, 'metadata', '2.root.json'));

    const fresh = edgeConfig('edge-d');
    const refused = await gridos('bundle', 'import', gap, '--config', fresh, '--root', rootV1);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('EDGE_TUF_ROOT_CHAIN_BROKEN');
    expect(refused.stderr).toMatch(/carries root v3 but not v2; this edge trusts root v1/);
    expect(JSON.parse((await ok('policy', 'status', '--config', fresh, '--json')).stdout)).toMatchObject({ state: 'NO_POLICY', rootVersion: 1, lastRefusal: { code: 'EDGE_TUF_ROOT_CHAIN_BROKEN', source: gap, active: null } });
    expect((await ok('policy', 'status', '--config', fresh)).stdout).toMatch(/last refusal +\S+ EDGE_TUF_ROOT_CHAIN_BROKEN: update refused, active policy unchanged: .*carries root v3 but not v2/);

    expect((await ok('bundle', 'import', media, '--config', fresh)).stdout).toContain('installed policy north-feeders version 8');
    expect(JSON.parse((await ok('policy', 'status', '--config', fresh, '--json')).stdout)).toMatchObject({ state: 'ACTIVE', rootVersion: 3, policy: { version: 8 }, lastInstall: { version: 8, source: media }, lastRefusal: { code: 'EDGE_TUF_ROOT_CHAIN_BROKEN' } });
    expect(auditOf('edge-d').map((r) => [r.kind, (r.body as { code?: string }).code])).toEqual([['policy.refused', 'EDGE_TUF_ROOT_CHAIN_BROKEN'], ['policy.installed', undefined]]);
    // The edge of the first test walks v1 -> v3 from the same media.
    expect((await ok('bundle', 'import', media, '--config', join(dir, 'edge-a.yaml'))).stdout).toContain('installed policy north-feeders version 8');
    expect(JSON.parse((await ok('policy', 'status', '--repo', repo, '--json')).stdout)).toMatchObject({ root: { version: 3 }, targets: { version: 2 } });
  }, 120_000);

  it('--help names every command', async () => {
    for (const args of [['keys'], ['keys', 'init'], ['keys', 'rotate-root'], ['policy', 'sign'], ['policy', 'publish'], ['policy', 'assign'], ['policy', 'status'], ['bundle', 'export'], ['bundle', 'import']]) {
      const r = await gridos(...args, '--help');
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout, args.join(' ')).toMatch(/^Usage: gridos /);
    }
  }, 60_000);
});
