/**
 * SIGKILL the dispatcher in every state (and once between a device write and its journal entry),
 * and in every state of a safe fallback that an escalation's timeout journals and runs,
 * restart it on the same journal, run it once more: every proposal is journaled and final, and
 * nothing was executed twice, and the audit chain holds each proposal's trail exactly once per
 * kind, in order, and verifies. The child (test/helpers/dispatch-child.mjs) runs the built modules
 * in dist/; it freezes where it is told and says so on stdout, so the kill lands in that state.
 * No timing is asserted.
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DispatchJournal, FINAL_STATES, type DispatchState } from '../../edge/dispatch/index.js';
import { verifyChain, type AuditRow } from '../../protocols/audit/index.js';

const CHILD = fileURLToPath(new URL('../helpers/dispatch-child.mjs', import.meta.url));
const BUILT = fileURLToPath(new URL('../../dist/edge/dispatch/dispatcher.js', import.meta.url));
const KILL_POINTS = [
  'proposed', 'auto', 'escalated', 'denied', 'approved', 'rejected', 'expired', 'executing', 'written', 'executed', 'failed', 'aborted',
  // the safe fallback of an escalation that timed out: journaled with the expiry, then run like an auto proposal
  'fallback-proposed', 'fallback-auto', 'fallback-executing', 'fallback-written', 'fallback-executed',
] as const;

let tmp: string;
beforeAll(() => {
  // npm test builds dist/ before any test runs; rebuilding here would rewrite files other tests run
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run \`npm run build\` (npm test does)`);
  tmp = mkdtempSync(join(tmpdir(), 'gridos-dispatch-kill-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the child; with `killAt`, SIGKILLs it as soon as it reports being frozen there. */
function runChild(env: Record<string, string>, killAt?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD], { env: { ...process.env, ...env, ...(killAt && { KILL_AT: killAt }) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child did not ${killAt ? `reach ${killAt}` : 'finish'}: ${stdout} ${stderr}`));
    }, 20_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (killAt && stdout.includes(`AT ${killAt} `)) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The audit chain's rows, and each proposal's kinds in chain order. */
function auditTrails(file: string): { rows: AuditRow[]; trails: Map<string, string[]> } {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare<[], AuditRow>('SELECT seq, at_ms AS atMs, kind, subject AS subjectJson, body AS bodyJson, prev_hash AS prevHash, hash FROM audit ORDER BY seq').all();
    const trails = new Map<string, string[]>();
    for (const r of rows) {
      const id = (JSON.parse(r.subjectJson) as { proposalId?: string }).proposalId!;
      trails.set(id, [...(trails.get(id) ?? []), r.kind]);
    }
    return { rows, trails };
  } finally {
    db.close();
  }
}

const TRAIL_START = ['telemetry-summary', 'forecast', 'proposal', 'policy-outcome'];

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

function snapshot(journalFile: string) {
  const j = new DispatchJournal(journalFile, { clock: () => 0 });
  try {
    return new Map(j.all().map((r) => [r.proposal.controller === 'fallback' ? `${r.proposal.assetId}:derived` : r.proposal.assetId, { id: r.proposal.id, state: r.state, reason: r.reason, attempt: r.attempt }]));
  } finally {
    j.close();
  }
}

describe('dispatcher under SIGKILL in every state', () => {
  it.each(KILL_POINTS)('killed in %s: restarted, no proposal lost, none executed twice', async (point) => {
    const dir = join(tmp, point);
    const env = { JOURNAL: join(dir, 'edge.db'), EXECUTIONS: join(dir, 'executions.txt'), ESCALATIONS: join(dir, 'escalations.txt'), AUDIT: join(dir, 'audit.db') };

    const killed = await runChild(env, point);
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const at = /AT (\S+) (\S+)/.exec(killed.stdout)!;
    expect(at[1]).toBe(point);
    // The kill landed with a proposal in that state (a write already made is still `executing`).
    const before = snapshot(env.JOURNAL);
    const frozen = [...before.values()].find((r) => r.id === at[2]);
    const state = point.replace(/^fallback-/, '');
    expect(frozen?.state).toBe(state === 'written' ? 'executing' : state);

    const restarted = await runChild(env);
    expect(restarted.code, restarted.stderr).toBe(0);
    expect(restarted.stdout).toContain('DONE');
    const after = snapshot(env.JOURNAL);
    const executions = lines(env.EXECUTIONS);

    // No lost proposal: all eight journaled and the one fallback, each in a final state.
    expect([...after.keys()].sort()).toEqual(['approve', 'auto-fail', 'auto-ok', 'deny', 'fallback', 'fallback:derived', 'reject', 'stale', 'timeout']);
    for (const r of after.values()) expect(FINAL_STATES).toContain(r.state);
    // No double execution: each id written at most once, attempts at most one.
    expect(new Set(executions).size).toBe(executions.length);
    for (const r of after.values()) expect(r.attempt).toBeLessThanOrEqual(1);

    const autoOk: { state: DispatchState; reason: string | null } = point === 'executing' ? { state: 'failed', reason: 'INTERRUPTED' } : point === 'written' ? { state: 'executed', reason: 'READ_BACK' } : { state: 'executed', reason: null };
    expect(after.get('auto-ok')).toMatchObject(autoOk);
    expect(after.get('approve')?.state).toBe('executed');
    expect(after.get('reject')?.state).toBe('rejected');
    expect(after.get('timeout')).toMatchObject({ state: 'expired', reason: 'TIMEOUT_REFUSE' });
    expect(after.get('deny')?.state).toBe('denied');
    expect(after.get('auto-fail')).toMatchObject({ state: 'failed', reason: 'device refused the setpoint' });
    expect(after.get('stale')).toMatchObject({ state: 'aborted', reason: 'INTERVAL_PASSED' });
    const fallback = after.get('fallback:derived')!;
    expect(after.get('fallback')).toMatchObject({ state: 'expired', reason: `TIMEOUT_FALLBACK:cap -> ${fallback.id}` });
    const fallbackEnd: { state: DispatchState; reason: string | null } = point === 'fallback-executing' ? { state: 'failed', reason: 'INTERRUPTED' } : point === 'fallback-written' ? { state: 'executed', reason: 'READ_BACK' } : { state: 'executed', reason: null };
    expect(fallback).toMatchObject(fallbackEnd);
    // Executed exactly the proposals the journal says were executed.
    const executedIds = [...after.values()].filter((r) => r.state === 'executed').map((r) => r.id);
    expect([...executions].sort()).toEqual(executedIds.sort());

    // Every escalation reached the outbox at least once (again after a restart: idempotent by id).
    const escalated = new Set(lines(env.ESCALATIONS));
    for (const asset of ['approve', 'reject', 'timeout', 'fallback']) expect(escalated.has(after.get(asset)!.id)).toBe(true);

    // The audit: every proposal's trail exactly once per kind, in the order of its steps, and the chain intact.
    const audit = auditTrails(env.AUDIT);
    expect(verifyChain(audit.rows)).toMatchObject({ ok: true, records: audit.rows.length });
    const executedTrail = (asset: string, ...middle: string[]) => [...TRAIL_START, ...middle, 'execution', ...(after.get(asset)!.state === 'executed' ? ['observed-effect'] : [])];
    const expected: Record<string, string[]> = {
      'auto-ok': executedTrail('auto-ok'),
      approve: executedTrail('approve', 'decision'),
      reject: [...TRAIL_START, 'decision'],
      timeout: [...TRAIL_START, 'timeout'],
      deny: TRAIL_START,
      'auto-fail': [...TRAIL_START, 'execution'],
      stale: [...TRAIL_START, 'execution'],
      fallback: [...TRAIL_START, 'timeout'],
      'fallback:derived': executedTrail('fallback:derived'),
    };
    for (const [asset, kinds] of Object.entries(expected)) expect([asset, audit.trails.get(after.get(asset)!.id)]).toEqual([asset, kinds]);
    expect(audit.trails.size).toBe(after.size);

    // A third run replays everything against the journal and changes nothing.
    const replay = await runChild(env);
    expect(replay.code, replay.stderr).toBe(0);
    expect(lines(env.EXECUTIONS)).toEqual(executions);
    expect(snapshot(env.JOURNAL)).toEqual(after);
    expect(auditTrails(env.AUDIT).rows).toEqual(audit.rows);
  });
});
