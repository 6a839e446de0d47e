/**
 * `gridos demo`, the built CLI on free ports and a temp data dir, all real (hub with its embedded
 * broker and TUF registry, two OPC UA substation simulators, two edges dispatching):
 *  - `--duration 150` exits 0, and in that run the North edge discharged by itself (auto, the
 *    setpoint executed) and the South edge escalated to the hub; read from the summary's JSON
 *    last line, cross-checked in the hub's SQLite store;
 *  - a second run on the same data dir finds its users and its released policy, and Ctrl-C
 *    (SIGINT) stops everything cleanly with exit code 0 and a summary;
 *  - a policy file that does not validate, or changed under a released version, is refused
 *    with exit code 2 before anything starts.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DemoSummary } from '../../bin/demo-summary.js';
import { runGridos, startGridos } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';

const dataDir = mkdtempSync(join(tmpdir(), 'gridos-demo-'));
const args = ['demo', '--data-dir', dataDir, '--http-port', '0', '--mqtt-port', '0', '--opcua-port', '0', '--log-format', 'json'];

function lastSummary(stdout: string): DemoSummary {
  const last = stdout.trimEnd().split('\n').at(-1) ?? '';
  expect(last, stdout.slice(-2000)).toMatch(/^\{"gridosDemoSummary":/);
  return (JSON.parse(last) as { gridosDemoSummary: DemoSummary }).gridosDemoSummary;
}

describe('gridos demo', () => {
  it('--duration 150: exits 0; North discharged by itself, South escalated to the hub; the summary says so', async () => {
    const r = await runGridos([...args, '--duration', '150'], { timeoutMs: 190_000 });
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.stderr).toMatch(/console: {2}http:\/\/127\.0\.0\.1:\d+\//);
    for (const [name, role] of [['operator', 'operator'], ['supervisor', 'supervisor'], ['viewer', 'viewer']]) expect(r.stderr).toMatch(new RegExp(`${name} +${role} +password: \\S{20}`));
    expect(r.stderr).toMatch(/policies\/demo-peak-shaving\/1\.yaml signed and published at http:\/\/127\.0\.0\.1:\d+\/tuf\//);

    const s = lastSummary(r.stdout);
    expect(s.stoppedCleanly, s.errors.join('\n')).toBe(true);
    expect(s.totals.auto).toBeGreaterThanOrEqual(1);
    expect(s.totals.escalated).toBeGreaterThanOrEqual(1);
    const [north, south] = s.edges;
    expect(north).toMatchObject({ edgeId: 'edge-north-01', site: 'substation-north', policy: 'demo-peak-shaving v1' });
    expect(south).toMatchObject({ edgeId: 'edge-south-01', site: 'substation-south', policy: 'demo-peak-shaving v1' });
    expect(north!.proposals.auto).toBeGreaterThanOrEqual(1);
    expect(north!.executedSetpointsKw.length).toBeGreaterThanOrEqual(1);
    for (const kw of north!.executedSetpointsKw) expect(kw).toBeGreaterThan(0), expect(kw).toBeLessThanOrEqual(400);
    expect(south!.proposals.escalated).toBeGreaterThanOrEqual(1);
    expect(south!.approvals.pending + south!.approvals.expired).toBe(south!.proposals.escalated);
    for (const e of s.edges) {
      expect(e.forecasts.byModel, e.edgeId).toBeGreaterThanOrEqual(2);
      expect(e.tags.withReadings, e.edgeId).toBe(e.tags.total);
      expect(e.tags.total, e.edgeId).toBeGreaterThanOrEqual(8);
    }
    expect(r.stdout).toMatch(/in all: \d+ automatic and \d+ escalated action\(s\)/);

    expect(existsSync(join(dataDir, 'registry', 'tuf', 'metadata', '1.root.json'))).toBe(true);
    const db = new Database(join(dataDir, 'hub', 'hub.db'), { readonly: true });
    try {
      const escalated = db.prepare("SELECT COUNT(*) FROM escalations WHERE edge_id = 'edge-south-01'").pluck().get() as number;
      expect(escalated).toBe(south!.proposals.escalated);
      expect(db.prepare('SELECT name, role FROM hub_users ORDER BY name').all()).toEqual([
        { name: 'operator', role: 'operator' },
        { name: 'supervisor', role: 'supervisor' },
        { name: 'supervisor2', role: 'supervisor' },
        { name: 'viewer', role: 'viewer' },
      ]);
    } finally {
      db.close();
    }
  }, 200_000);

  it('a second run finds its users and policy; Ctrl-C (SIGINT) stops everything cleanly with exit code 0 and a summary', async () => {
    const demo = startGridos(args);
    try {
      await waitFor('the demo to be running', () => demo.output().includes('gridos demo is running'), 120_000);
      expect(demo.output()).toMatch(/demo users operator \(operator\), supervisor \(supervisor\), supervisor2 \(supervisor\), viewer \(viewer\) exist from an earlier run/);
      expect(demo.output()).not.toMatch(/password: \S{20}/);
      expect(demo.output()).toMatch(/policies\/demo-peak-shaving\/1\.yaml already published/);
      demo.child.kill('SIGINT');
      const exit = await Promise.race([demo.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no exit 30 s after SIGINT')), 30_000))]);
      expect(exit, demo.output().slice(-2000)).toEqual({ code: 0, signal: null });
      expect(demo.output()).toContain('SIGINT, stopping');
      expect(demo.output()).toMatch(/"msg":"edge agent stopped"/);
      expect(demo.output()).toMatch(/"msg":"hub stopped"/);
      expect(demo.output()).toMatch(/everything stopped cleanly/);
      expect(lastSummary(demo.output()).stoppedCleanly).toBe(true);
    } finally {
      if (demo.child.exitCode === null) demo.child.kill('SIGKILL');
    }
  }, 180_000);

  it('refuses, before starting anything, a policy file that does not validate or that changed under a released version (exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridos-demo-policy-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, readFileSync('config/policy.demo.yaml', 'utf8').replace(/^timeZone: UTC$/m, 'timeZone: Mars/Olympus'));
    const r1 = await runGridos([...args, '--policy', bad, '--duration', '5'], { timeoutMs: 30_000 });
    expect(r1.code, r1.stderr).toBe(2);
    expect(r1.stderr).toMatch(/gridos demo: cannot release the demo policy \(HUB_TUF_BAD_TARGET\): .*bad\.yaml is not a valid policy/);
    expect(r1.stderr).toMatch(/timeZone/);
    expect(r1.stderr).not.toContain('gridos demo is running');

    const changed = join(dir, 'changed.yaml');
    writeFileSync(changed, readFileSync('config/policy.demo.yaml', 'utf8').replace('maxPerHour: 40', 'maxPerHour: 41'));
    const r2 = await runGridos([...args, '--policy', changed, '--duration', '5'], { timeoutMs: 30_000 });
    expect(r2.code, r2.stderr).toBe(2);
    expect(r2.stderr).toMatch(/\(HUB_TUF_TARGET_CHANGED\): .*policies\/demo-peak-shaving\/1\.yaml was released with other content; raise `version`/);
  }, 60_000);
});
