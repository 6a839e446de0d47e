/**
 * The dispatch audit feed on real SQLite files (a journal and an audit chain), driven by a real
 * Dispatcher with a clock the test sets: records wait for the end of a batch, `appendMany` is all
 * or nothing, `reconcile` adds what the journal committed and the audit lacks exactly once (and
 * nothing on a second start), refused decisions never count as a proposal's decision step, and an
 * effect the agent was down for is recorded as missed once the interval has passed.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { EdgeAuditLog } from '../../edge/audit/index.js';
import { DispatchAuditFeed, DispatchJournal, Dispatcher, sealProposal, type Proposal } from '../../edge/dispatch/index.js';
import type { Verdict } from '../../edge/policy/index.js';
import { AuditEntryError, recordOfRow, verifyChain } from '../../protocols/audit/index.js';

const dir = mkdtempSync(join(tmpdir(), 'gridos-audit-feed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const T0 = Date.parse('2026-06-01T10:00:00Z');
let n = 0;

const proposal = (assetId: string): Proposal =>
  sealProposal({
    controller: 'unit', edgeId: 'e1', siteId: 's1', assetId, action: 'battery_discharge', magnitudeKw: 100, energyKwh: 25,
    intervalStartMs: T0, intervalEndMs: T0 + 900_000, setpoint: { point: `${assetId}.sp`, value: 100, unit: 'kW' }, reason: 'unit test', forecast: null, measurement: null,
  });
const verdict = (outcome: 'auto' | 'escalate'): Verdict => ({ outcome, ruleId: 'r', reasons: ['unit'], approval: outcome === 'escalate' ? { roles: ['operator'], approvers: 1 } : undefined, onTimeout: undefined, flags: [], policyId: 'p', policyVersion: 1 });

/** A journal, an audit chain and a feed on fresh files (or on `files` again: a restart). */
function open(files?: { journal: string; audit: string }, feedOn = true) {
  const f = files ?? { journal: join(dir, `j-${n}.db`), audit: join(dir, `a-${n++}.db`) };
  const clock = { now: T0 };
  const db = new Database(f.audit);
  const audit = new EdgeAuditLog(db, { chainId: 'e1' });
  let feed: DispatchAuditFeed | undefined;
  const journal = new DispatchJournal(f.journal, { clock: () => clock.now, onTransition: (r, from, e) => feed?.onTransition(r, from, e) });
  const made = new DispatchAuditFeed({ audit, journal, clock: () => clock.now, logger: pino({ level: 'silent' }), tags: { feederKw: 'f', socPct: 's', voltagePu: 'v' }, read: () => ({ value: 1, tsMs: clock.now }), effectAfterMs: 60_000 });
  if (feedOn) feed = made;
  const outcomes = new Map<string, 'auto' | 'escalate'>();
  const dispatcher = new Dispatcher({ journal, evaluate: (a) => verdict(outcomes.get(a.assetId) ?? 'auto'), clock: () => clock.now, executeTimeoutMs: 5_000, execute: async () => undefined, escalate: () => undefined });
  const kinds = (id: string) => audit.ofProposal(id).map((r) => r.kind);
  return { files: f, clock, audit, journal, feed: made, dispatcher, outcomes, kinds, close: () => (made.stop(), journal.close(), db.close()) };
}

const ctx = { nowMs: T0, policyExpired: false, hubReachable: true, autoCountLastHour: 0, autoEnergyKwhToday: 0 };

describe('the dispatch audit feed', () => {
  it('holds a batch until released, then appends it in step order; appendMany is all or nothing', async () => {
    const s = open();
    const p = proposal('a');
    s.feed.hold();
    await s.dispatcher.cycle([p], ctx);
    expect(s.audit.head().seq).toBe(0);
    s.feed.release();
    expect(s.kinds(p.id)).toEqual(['telemetry-summary', 'forecast', 'proposal', 'policy-outcome', 'execution']);
    expect(s.audit.verify()).toMatchObject({ ok: true, records: 5 });
    const head = s.audit.head();
    expect(() => s.audit.appendMany([{ atMs: T0, kind: 'proposal', subject: { proposalId: 'x' }, body: 1 }, { atMs: -1, kind: 'proposal', subject: {}, body: 2 }])).toThrow(AuditEntryError);
    expect(s.audit.head()).toEqual(head);
    s.close();
  });

  it('reconcile records, once and in order, the steps a process committed without their records; a second start adds nothing', async () => {
    const first = open(undefined, false); // a process whose audit never caught up
    const auto = proposal('auto');
    const esc = proposal('esc');
    first.outcomes.set('esc', 'escalate');
    await first.dispatcher.cycle([auto, esc], ctx);
    await first.dispatcher.onDecision(esc.id, 'approve');
    first.close();

    // restarted two minutes later: both effects (due at T0 + 60 s) are overdue, the interval still runs
    const second = open(first.files);
    second.clock.now = T0 + 120_000;
    expect(second.feed.reconcile()).toBe(13);
    const trail = ['telemetry-summary', 'forecast', 'proposal', 'policy-outcome'];
    expect(second.kinds(auto.id)).toEqual([...trail, 'execution', 'observed-effect']);
    expect(second.kinds(esc.id)).toEqual([...trail, 'decision', 'execution', 'observed-effect']);
    const decision = recordOfRow(second.audit.ofProposal(esc.id)[4]!);
    expect(decision.body).toMatchObject({ status: 'applied', outcome: 'approve', decisionId: null, recovered: true });
    expect(recordOfRow(second.audit.ofProposal(auto.id)[5]!).body).toMatchObject({ dueAtMs: T0 + 60_000, observedAtMs: T0 + 120_000, lateByMs: 60_000 });
    second.close();

    const third = open(first.files);
    expect(third.feed.reconcile()).toBe(0);
    expect(verifyChain(third.audit.rows())).toMatchObject({ ok: true, records: 13 });
    third.close();
  });

  it('an effect the agent was down for, after the interval: recorded as missed, once', async () => {
    const first = open(undefined, false);
    const auto = proposal('auto');
    await first.dispatcher.cycle([auto], ctx);
    first.close();
    const second = open(first.files);
    second.clock.now = T0 + 3_600_000;
    expect(second.feed.reconcile()).toBe(6);
    expect(recordOfRow(second.audit.ofProposal(auto.id).at(-1)!).body).toMatchObject({ missed: 'AGENT_DOWN', observedAtMs: null, recovered: true });
    expect(second.feed.reconcile()).toBe(0);
    second.close();
  });

  it('a refused decision is an event, not the decision step: reconcile still records the applied one', async () => {
    const first = open(undefined, false);
    const esc = proposal('esc');
    first.outcomes.set('esc', 'escalate');
    await first.dispatcher.cycle([esc], ctx);
    first.feed.decisionRefused({ proposalId: esc.id, decisionId: 'd-1', code: 'DECISION_EXPIRED', message: 'expired' });
    first.feed.flush();
    await first.dispatcher.onDecision(esc.id, 'reject');
    first.close();

    const second = open(first.files);
    second.feed.reconcile();
    const decisions = second.audit.ofProposal(esc.id).filter((r) => r.kind === 'decision').map((r) => recordOfRow(r).body);
    expect(decisions).toMatchObject([{ status: 'refused', code: 'DECISION_EXPIRED' }, { status: 'applied', outcome: 'reject', recovered: true }]);
    expect(second.feed.reconcile()).toBe(0);
    second.close();
  });

  it('a refused or not-applied decision is appended at once, even while a cycle holds the feed (a SIGKILL then loses nothing)', async () => {
    const s = open();
    s.feed.hold();
    await s.dispatcher.cycle([proposal('held')], ctx);
    s.feed.decisionRefused({ proposalId: 'px', decisionId: 'd-9', code: 'DECISION_BAD_SIGNATURE', message: 'bad signature' });
    s.feed.decisionNotApplied({ id: 'd-10', proposalId: 'py', outcome: 'approve', approvers: ['ops'], issuedAtMs: T0, expiresAtMs: T0 + 60_000, proposalHash: 'h' } as never, 'DISPATCH_NOT_WAITING', 'executed');
    // on disk now, in its own transaction: a fresh handle (another process) sees them
    const other = new Database(s.files.audit, { readonly: true });
    const bodies = other.prepare('SELECT body FROM audit ORDER BY seq').pluck().all() as string[];
    other.close();
    expect(bodies.map((b) => JSON.parse(b) as { status: string })).toMatchObject([{ status: 'refused', code: 'DECISION_BAD_SIGNATURE' }, { status: 'not-applied', code: 'DISPATCH_NOT_WAITING' }]);
    s.feed.release();
    expect(s.audit.verify()).toMatchObject({ ok: true, records: 7 });
    s.close();
  });

  it('a batch the chain refuses drops only its bad entry (logged, counted): the others are appended, in order', async () => {
    const s = open();
    const p = proposal('bad');
    s.feed.hold();
    await s.dispatcher.cycle([p], ctx);
    // a step whose record cannot be sealed, queued in the same batch (a subject id that is not a string)
    s.feed.onTransition({ proposal: { ...p, id: '' }, verdict: verdict('auto'), state: 'failed', stateSinceMs: T0, reason: 'x' } as never, 'executing' as never, { type: 'failed' } as never);
    s.feed.release();
    expect(s.kinds(p.id)).toEqual(['telemetry-summary', 'forecast', 'proposal', 'policy-outcome', 'execution']);
    expect(s.feed.dropped).toBeGreaterThan(0);
    expect(s.audit.verify()).toMatchObject({ ok: true });
    s.close();
  });
});
