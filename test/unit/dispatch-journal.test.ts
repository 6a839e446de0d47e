import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DISPATCH_STATES, DispatchError, DispatchJournal, events, FINAL_STATES, onRestart, sealProposal, type DispatchEvent, type DispatchState, type Proposal } from '../../edge/dispatch/index.js';
import type { Verdict } from '../../edge/policy/index.js';

const T0 = Date.parse('2026-12-01T10:00:00Z');
let dir: string;
let file: string;
let now: number;
const clock = () => now;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gridos-journal-'));
  file = join(dir, 'edge.db');
  now = T0;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function proposal(n = 1): Proposal {
  return sealProposal({
    controller: 'peak-shaving', edgeId: 'e1', siteId: 's1', assetId: 'bess-01', action: 'battery_discharge', magnitudeKw: 100 + n, energyKwh: 25,
    intervalStartMs: T0, intervalEndMs: T0 + 900_000, setpoint: { point: 'bess1.power_setpoint_kw', value: 100 + n, unit: 'kW' }, reason: 'test', forecast: null, measurement: null,
  });
}
function verdict(outcome: Verdict['outcome']): Verdict {
  return { outcome, ruleId: 'r1', reasons: ['because'], approval: outcome === 'escalate' ? { roles: ['operator'], approvers: 1 } : undefined, onTimeout: outcome === 'escalate' ? { afterMs: 60_000, then: 'refuse' } : undefined, flags: [], policyId: 'p', policyVersion: 1 };
}

/** The events that bring a fresh proposal to each state, and the verdict it was gated with. */
const PATHS: Record<DispatchState, { outcome: Verdict['outcome']; path: DispatchEvent[] }> = {
  proposed: { outcome: 'auto', path: [] },
  auto: { outcome: 'auto', path: [events.gated('auto')] },
  escalated: { outcome: 'escalate', path: [events.gated('escalate')] },
  denied: { outcome: 'deny', path: [events.gated('deny')] },
  approved: { outcome: 'escalate', path: [events.gated('escalate'), events.decided('approve')] },
  rejected: { outcome: 'escalate', path: [events.gated('escalate'), events.decided('reject')] },
  expired: { outcome: 'escalate', path: [events.gated('escalate'), events.timedOut()] },
  executing: { outcome: 'auto', path: [events.gated('auto'), events.executionStarted()] },
  executed: { outcome: 'auto', path: [events.gated('auto'), events.executionStarted(), events.executionFinished('ok')] },
  failed: { outcome: 'auto', path: [events.gated('auto'), events.executionStarted(), events.executionFinished('failed')] },
  aborted: { outcome: 'auto', path: [events.gated('auto'), events.aborted('INTERVAL_PASSED')] },
};

describe('propose', () => {
  it('is idempotent by proposal id: one row, one history entry', () => {
    const j = new DispatchJournal(file, { clock });
    const p = proposal();
    expect(j.propose(p, verdict('auto')).created).toBe(true);
    now += 1000;
    const again = j.propose(p, verdict('deny'));
    expect(again.created).toBe(false);
    expect(again.record).toMatchObject({ state: 'proposed', createdMs: T0, verdict: { outcome: 'auto' } });
    expect(j.all()).toHaveLength(1);
    expect(j.history(p.id)).toHaveLength(1);
    j.close();
  });

  it('refuses a proposal whose hash does not match its content', () => {
    const j = new DispatchJournal(file, { clock });
    const forged = { ...proposal(), magnitudeKw: 999 };
    expect(() => j.propose(forged, verdict('auto'))).toThrow(DispatchError);
    expect(j.all()).toHaveLength(0);
    j.close();
  });
});

describe('transitions: compare-and-set', () => {
  it('a replayed event cannot move a proposal twice', () => {
    const j = new DispatchJournal(file, { clock });
    const p = proposal();
    j.propose(p, verdict('auto'));
    expect(j.apply(p.id, events.gated('auto'))).toMatchObject({ ok: true, from: 'proposed', record: { state: 'auto' } });
    expect(j.apply(p.id, events.gated('auto'))).toEqual({ ok: false, error: 'EDGE_DISPATCH_ILLEGAL_TRANSITION', state: 'auto' });
    expect(j.beginExecution(p.id).ok).toBe(true);
    expect(j.beginExecution(p.id)).toEqual({ ok: false, error: 'EDGE_DISPATCH_ILLEGAL_TRANSITION', state: 'executing' });
    expect(j.get(p.id)?.attempt).toBe(1);
    expect(j.apply('nope', events.timedOut())).toEqual({ ok: false, error: 'EDGE_DISPATCH_UNKNOWN_PROPOSAL', state: null });
    j.close();
  });

  it('two writers on the same file: exactly one begins the execution', () => {
    const a = new DispatchJournal(file, { clock });
    const b = new DispatchJournal(file, { clock });
    const p = proposal();
    a.propose(p, verdict('escalate'));
    expect(b.propose(p, verdict('escalate')).created).toBe(false);
    a.apply(p.id, events.gated('escalate'));
    const decisions = [a.apply(p.id, events.decided('approve')), b.apply(p.id, events.decided('reject'))];
    expect(decisions.filter((d) => d.ok)).toHaveLength(1);
    expect(a.get(p.id)?.state).toBe('approved');
    const begun = [b.beginExecution(p.id), a.beginExecution(p.id)];
    expect(begun.map((r) => r.ok)).toEqual([true, false]);
    expect(a.get(p.id)?.attempt).toBe(1);
    a.close();
    b.close();
  });

  it('records every transition in the append-only history, with the clock and the reason', () => {
    const j = new DispatchJournal(file, { clock });
    const p = proposal();
    j.propose(p, verdict('auto'));
    now += 10;
    j.apply(p.id, events.gated('auto'));
    now += 10;
    j.beginExecution(p.id);
    now += 10;
    j.apply(p.id, events.executionFinished('failed'), 'INTERRUPTED');
    expect(j.history(p.id).map((e) => [e.from, e.to, e.reason, e.atMs - T0])).toEqual([
      [null, 'proposed', null, 0],
      ['proposed', 'auto', null, 10],
      ['auto', 'executing', null, 20],
      ['executing', 'failed', 'INTERRUPTED', 30],
    ]);
    expect(j.get(p.id)).toMatchObject({ state: 'failed', reason: 'INTERRUPTED', stateSinceMs: T0 + 30, createdMs: T0 });
    j.close();
  });
});

describe('restart: close and reopen the file in every state', () => {
  it.each(DISPATCH_STATES)('%s', (state) => {
    const { outcome, path } = PATHS[state];
    const p = proposal();
    const j = new DispatchJournal(file, { clock });
    j.propose(p, verdict(outcome));
    for (const e of path) expect(j.apply(p.id, e).ok).toBe(true);
    j.close();

    const reopened = new DispatchJournal(file, { clock });
    const r = reopened.get(p.id)!;
    expect(r.state).toBe(state);
    expect(r.proposal).toEqual(p);
    expect(r.verdict.outcome).toBe(outcome);
    expect(r.attempt).toBe(path.some((e) => e.type === 'executionStarted') ? 1 : 0);
    expect(reopened.history(p.id)).toHaveLength(path.length + 1);
    expect(reopened.resumable().map((x) => x.proposal.id)).toEqual(FINAL_STATES.includes(state) ? [] : [p.id]);
    expect(reopened.pending().map((x) => x.proposal.id)).toEqual(state === 'escalated' ? [p.id] : []);
    expect(onRestart(state) === 'none').toBe(FINAL_STATES.includes(state));
    // Re-proposing the same content after the restart changes nothing.
    expect(reopened.propose(p, verdict(outcome)).created).toBe(false);
    expect(reopened.get(p.id)?.state).toBe(state);
    reopened.close();
  });

  it('resumable() lists proposals in the order they were journaled', () => {
    const j = new DispatchJournal(file, { clock });
    const ps = [proposal(3), proposal(1), proposal(2)];
    for (const p of ps) j.propose(p, verdict('auto'));
    j.apply(ps[1]!.id, events.gated('auto'));
    j.apply(ps[1]!.id, events.aborted('INTERVAL_PASSED'));
    j.close();
    const reopened = new DispatchJournal(file, { clock });
    expect(reopened.resumable().map((r) => r.proposal.id)).toEqual([ps[0]!.id, ps[2]!.id]);
    reopened.close();
  });
});
