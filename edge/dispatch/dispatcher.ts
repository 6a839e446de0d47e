/**
 * The dispatcher: the one writer. Each cycle gates the controllers' proposals through the policy
 * evaluator, journals them (journal.ts), and moves them along the state machine (states.ts):
 *  - auto: `beginExecution` (committed) and then the injected `execute`, with a deadline;
 *  - escalate: the injected `escalate(proposal, verdict)` (the outbox message to the hub);
 *    a decision arrives through `onDecision`, a timeout through `tick` (verdict.onTimeout,
 *    measured on the injected clock from when the proposal was escalated);
 *  - deny: recorded, nothing else.
 * `recover()` runs once after a start, before the first cycle: it resumes every proposal the
 * journal holds outside a final state, and never writes again one found `executing`.
 *
 * Input: proposals and the policy context of one cycle. Output: journal rows and calls to the
 * injected side effects. State kept: only the journal (SQLite), plus the queue of writes.
 * Timeouts, at the first tick at or after `escalated + afterMs`: `then: refuse` expires (reason
 * TIMEOUT_REFUSE); `then: fallback` expires (reason `TIMEOUT_FALLBACK:<name> -> <fallback id>`)
 * and, in the same journal transaction, journals the fallback derived from it (fallback.ts: own
 * id and hash, linked by `fallbackOf`), which then runs like an auto proposal: interlocks, write,
 * read-back; a fallback that writes nothing (hold-setpoint, unsupported) says why in the reason.
 * `then: hold` keeps waiting. Whatever onTimeout says, a proposal whose interval has ended is
 * never executed: an escalated one expires and an auto or approved one is aborted (reason
 * INTERVAL_PASSED).
 * An `execute` that passes `executeTimeoutMs` is aborted (reason DEADLINE_EXCEEDED; the signal it
 * was given is aborted too); one that throws `ExecutionAborted` (an interlock refused the write
 * before it was made) is aborted with its reason; one that throws anything else is failed (reason:
 * its message).
 */
import { deriveFallback, fallbackReason } from './fallback.js';
import { toProposedAction } from './proposal.js';
import { events, onRestart, recoveryOf, type Decision, type ReadBack } from './states.js';
import type { ApplyResult, DispatchJournal, DispatchRecord } from './journal.js';
import type { PolicyContext, PolicyEvaluator, Verdict } from '../policy/index.js';
import type { Proposal } from './types.js';

export interface DispatcherOptions {
  journal: DispatchJournal;
  evaluate: PolicyEvaluator;
  /** The device write. Must honour `signal` (aborted at the deadline); throws when it failed. */
  execute: (proposal: Proposal, signal: AbortSignal) => Promise<void>;
  executeTimeoutMs: number;
  /** Hands an escalation to the hub (the outbox); called again after a restart, so idempotent by proposal id. */
  escalate: (proposal: Proposal, verdict: Verdict) => void | Promise<void>;
  /** Whether an interrupted write reached its setpoint; absent: every interrupted write is failed. */
  readBack?: (proposal: Proposal) => Promise<ReadBack>;
  clock: () => number;
}

/** Thrown by `execute` when it refused to write (nothing reached the device): the proposal is aborted with `reason`. */
export class ExecutionAborted extends Error {
  override readonly name = 'ExecutionAborted';
  constructor(readonly reason: string) {
    super(reason);
  }
}

export interface CycleSummary {
  journaled: number;
  /** Proposals the journal already held (the same content again): not gated twice. */
  duplicates: number;
}

export type DecisionResult = ApplyResult | { ok: false; error: 'EDGE_DISPATCH_HASH_MISMATCH'; state: null };

export class Dispatcher {
  private writes: Promise<void> = Promise.resolve();

  constructor(private readonly o: DispatcherOptions) {}

  /** After a start: resumes every proposal outside a final state (see `onRestart`). */
  async recover(): Promise<void> {
    for (const r of this.o.journal.resumable()) {
      if (onRestart(r.state) === 'recover') {
        let readBack: ReadBack = 'unknown';
        try {
          if (this.o.readBack) readBack = await this.o.readBack(r.proposal);
        } catch {
          readBack = 'unknown';
        }
        const { event, reason } = recoveryOf(readBack);
        this.o.journal.apply(r.proposal.id, event, reason);
      } else await this.advance(r);
    }
  }

  /** One cycle: journal and gate the new proposals, run what may run, then apply timeouts. */
  async cycle(proposals: readonly Proposal[], ctx: PolicyContext): Promise<CycleSummary> {
    const summary: CycleSummary = { journaled: 0, duplicates: 0 };
    for (const p of proposals) {
      if (this.o.journal.get(p.id) !== undefined) {
        summary.duplicates++;
        continue;
      }
      const verdict = this.o.evaluate(toProposedAction(p), ctx);
      const { created, record } = this.o.journal.propose(p, verdict);
      if (!created) {
        summary.duplicates++;
        continue;
      }
      summary.journaled++;
      await this.advance(record);
    }
    await this.tick();
    return summary;
  }

  /** A decision from the hub; `hash`, when given, must be the proposal's (the decision is bound to it). */
  async onDecision(id: string, decision: Decision, hash?: string): Promise<DecisionResult> {
    const r = this.o.journal.get(id);
    if (r !== undefined && hash !== undefined && r.proposal.hash !== hash) return { ok: false, error: 'EDGE_DISPATCH_HASH_MISMATCH', state: null };
    const result = this.o.journal.apply(id, events.decided(decision));
    if (result.ok && result.record.state === 'approved') await this.run(result.record);
    return result;
  }

  /** Applies escalation timeouts due by the clock, and runs the fallbacks they call for. */
  async tick(): Promise<void> {
    const { journal } = this.o;
    const now = this.o.clock();
    for (const r of journal.pending()) {
      const reason = timeoutReason(r, now);
      if (reason === undefined) continue;
      if (reason !== 'TIMEOUT_FALLBACK') {
        journal.apply(r.proposal.id, events.timedOut(), reason);
        continue;
      }
      const d = deriveFallback(r.proposal, r.verdict);
      const expired = journal.expireWithFallback(r.proposal.id, fallbackReason(r.verdict.onTimeout?.fallback ?? '', d), d.kind === 'proposal' ? d : undefined);
      const f = expired.ok && d.kind === 'proposal' ? journal.get(d.proposal.id) : undefined;
      if (f?.state === 'proposed') await this.advance(f);
    }
  }

  /** Waits for the queued writes (tests, shutdown). */
  idle(): Promise<void> {
    return this.writes;
  }

  private async advance(r: DispatchRecord): Promise<void> {
    let record = r;
    if (record.state === 'proposed') {
      const gated = this.o.journal.apply(record.proposal.id, events.gated(record.verdict.outcome));
      if (!gated.ok) return;
      record = gated.record;
    }
    if (record.state === 'auto' || record.state === 'approved') await this.run(record);
    else if (record.state === 'escalated') await this.o.escalate(record.proposal, record.verdict);
  }

  /** Queues the write: one writer, one write at a time. */
  private run(r: DispatchRecord): Promise<void> {
    const next = this.writes.then(() => this.execute(r));
    this.writes = next.catch(() => undefined);
    return next;
  }

  private async execute(r: DispatchRecord): Promise<void> {
    const { journal, clock } = this.o;
    const id = r.proposal.id;
    if (clock() >= r.proposal.intervalEndMs) {
      journal.apply(id, events.aborted('INTERVAL_PASSED'));
      return;
    }
    if (!journal.beginExecution(id).ok) return; // someone else moved it: never write twice
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), this.o.executeTimeoutMs);
    });
    try {
      const outcome = await Promise.race([this.o.execute(r.proposal, controller.signal).then(() => 'ok' as const), deadline]);
      if (outcome === 'deadline') {
        controller.abort();
        journal.apply(id, events.aborted('DEADLINE_EXCEEDED'));
      } else journal.apply(id, events.executionFinished('ok'));
    } catch (e) {
      if (e instanceof ExecutionAborted) journal.apply(id, events.aborted(e.reason), e.reason);
      else journal.apply(id, events.executionFinished('failed'), e instanceof Error ? e.message : String(e));
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Why an escalated proposal stops waiting now, or undefined while it still waits. Pure. Due at
 * `escalated + afterMs` exactly; TIMEOUT_FALLBACK means: derive and run the fallback.
 */
export function timeoutReason(r: DispatchRecord, nowMs: number): 'INTERVAL_PASSED' | 'TIMEOUT_REFUSE' | 'TIMEOUT_FALLBACK' | undefined {
  if (nowMs >= r.proposal.intervalEndMs) return 'INTERVAL_PASSED';
  const t = r.verdict.onTimeout;
  if (t === undefined || t.then === 'hold' || nowMs < r.stateSinceMs + t.afterMs) return undefined;
  return t.then === 'refuse' ? 'TIMEOUT_REFUSE' : 'TIMEOUT_FALLBACK';
}


