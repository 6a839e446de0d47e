/**
 * The dispatch audit feed: turns dispatch facts (journal steps, hub decisions refused or admitted,
 * what a setpoint did afterwards) into records of the edge's audit chain (`<dataDir>/audit.db`);
 * which records, and what they say, is audit-records.ts.
 *
 * Speed: a journal step only queues a closure (the 'journaled' latency point is not delayed); the
 * records are built and appended later, a batch in ONE transaction (one fsync): at the end of a
 * cycle, of a hub decision (`hold`/`release`), or on the next turn of the event loop otherwise.
 *
 * Exactly once per (proposal, step), even across SIGKILL: `reconcile()`, run once at start BEFORE
 * the dispatcher resumes anything, walks the journal and appends, in chain order, the records of
 * every committed step the audit table does not hold (asked of the table itself by proposal id,
 * audit-records.ts `auditedKinds`). A batch is one transaction and records are queued in step
 * order, so what the table holds of a proposal is always a prefix of its steps: what reconcile
 * adds comes after it. Steps after the start are queued live, once each (the journal commits a
 * step once). A batch that fails to append is kept and tried again with the next one; a batch the
 * chain refuses (a bad entry) is appended entry by entry and only the bad entry is dropped
 * (logged, counted). A reconcile that fails is logged and counted by the caller and the agent
 * starts anyway: the next start reconciles again.
 *
 * Refused and not-applied hub decisions are appended at once, in their own transaction, not
 * queued: nothing else is written for them, and a cycle or a device write may hold the queue for
 * long enough that a SIGKILL would lose them (they are off the dispatch latency path).
 *
 * Observed effect: `effectAfterMs` after `executed`, on a timer; at restart, an effect still due is
 * scheduled again, one overdue is observed at once while the proposal's interval runs (late, and
 * saying by how much), and recorded as missed after it.
 */
import type { Logger } from 'pino';
import type { EdgeAuditLog } from '../audit/index.js';
import type { AuditEntry } from '../../protocols/audit/index.js';
import type { Decision } from '../../protocols/index.js';
import type { LatestValue } from '../latest-values.js';
import { auditedKinds, decisionFields, effectEntry, entriesOfStep, kindsOfStep, missedEffectEntry, type AuditStep, type CycleFacts, type ExecutionInputs, type LiveFacts, type TelemetryTags } from './audit-records.js';
import type { DispatchJournal, DispatchRecord } from './journal.js';
import type { DispatchEvent, DispatchState } from './states.js';
import type { Proposal } from './types.js';

export interface DispatchAuditFeedOptions {
  audit: EdgeAuditLog;
  journal: Pick<DispatchJournal, 'all' | 'history'>;
  clock: () => number;
  logger: Logger;
  tags: TelemetryTags;
  /** The latest good reading of a tag, for the observed effect. */
  read: (tag: string) => Readonly<LatestValue> | undefined;
  effectAfterMs: number;
  /** When the forecast a proposal rests on was issued (the store's), if known. */
  forecastIssuedAtMs?: (target: string, startMs: number) => number | undefined;
  /** The decisions the gate admitted for a proposal (decisions.ts `admittedFor`), for records written at restart. */
  admittedDecisions?: (proposalId: string) => readonly Decision[];
}

/** A refused hub decision, as much as is known of it. */
export interface RefusedDecision {
  proposalId?: string;
  decisionId?: string;
  outcome?: string;
  code: string;
  message: string;
}

export class DispatchAuditFeed {
  private queue: (() => AuditEntry[])[] = [];
  private unwritten: AuditEntry[] = [];
  private depth = 0;
  private inCycle = false;
  private snapshot: CycleFacts | undefined;
  private scheduled: NodeJS.Immediate | undefined;
  private readonly decisions = new Map<string, Decision>();
  private readonly executions = new Map<string, ExecutionInputs>();
  private readonly effects = new Map<string, { timer: NodeJS.Timeout; done: Promise<void> }>();
  /** Entries the chain refused (AUDIT_INVALID_ENTRY, AUDIT_CANONICAL) and that were dropped. */
  private droppedEntries = 0;
  private failedReconciles = 0;

  constructor(private readonly o: DispatchAuditFeedOptions) {}

  /** At start, before the dispatcher resumes: records every committed step the audit lacks. Returns how many records it added. */
  reconcile(): number {
    const entries: AuditEntry[] = [];
    const nowMs = this.o.clock();
    for (const r of this.o.journal.all()) {
      const id = r.proposal.id;
      const have = auditedKinds(this.o.audit.ofProposal(id));
      const history: AuditStep[] = this.o.journal.history(id);
      for (const step of history) {
        const missing = kindsOfStep(step).filter((k) => !have.has(k));
        if (missing.length === 0) continue;
        entries.push(...entriesOfStep(r.proposal, r.verdict, step, history, this.o.tags, this.recoveredDecision(id, step), true, missing));
      }
      if (r.state === 'executed' && !have.has('observed-effect')) {
        const executedAtMs = r.stateSinceMs;
        const dueAtMs = executedAtMs + this.o.effectAfterMs;
        // never longer than effectAfterMs from now, even on a clock that went back
        if (dueAtMs > nowMs) this.scheduleEffect(r.proposal, executedAtMs, Math.min(dueAtMs - nowMs, this.o.effectAfterMs));
        else if (nowMs < r.proposal.intervalEndMs) entries.push(effectEntry(r.proposal, executedAtMs, dueAtMs, nowMs, this.o.tags, this.o.read, undefined));
        else entries.push(missedEffectEntry(r.proposal, executedAtMs, dueAtMs, nowMs));
      }
    }
    this.o.audit.appendMany(entries);
    if (entries.length > 0) this.o.logger.warn({ records: entries.length }, 'dispatch audit: recorded steps the journal committed but the audit had not (the agent stopped in between)');
    return entries.length;
  }

  /** A cycle begins: its snapshot is what the telemetry summary of its proposals reports; records wait for `cycleEnded`. */
  cycleStarted(s: CycleFacts): void {
    if (!this.inCycle) {
      this.inCycle = true;
      this.depth++;
    }
    this.snapshot = s;
  }

  cycleEnded(): void {
    if (!this.inCycle) return;
    this.inCycle = false;
    this.snapshot = undefined;
    this.release();
  }

  /** Records wait until the matching `release` (a hub decision and the write it runs: one batch). */
  hold(): void {
    this.depth++;
  }

  release(): void {
    this.depth = Math.max(0, this.depth - 1);
    if (this.depth === 0) this.flush();
  }

  /** The journal's onTransition: queues the step's records (built at flush, not here). */
  onTransition(record: DispatchRecord, from: DispatchState | null, event: DispatchEvent | { type: 'journaled' }): void {
    const step: AuditStep = { from, to: record.state, event, reason: record.reason, atMs: record.stateSinceMs };
    const id = record.proposal.id;
    const snapshot = this.snapshot;
    if (kindsOfStep(step).length > 0) {
      this.push(() => {
        const live: LiveFacts = { ...(snapshot && { snapshot }) };
        const f = record.proposal.forecast;
        const issued = f && from === null ? this.o.forecastIssuedAtMs?.(f.target, f.startMs) : undefined;
        if (issued !== undefined) live.forecastIssuedAtMs = issued;
        const d = event.type === 'decided' ? this.decisions.get(id) : undefined;
        if (d) live.decision = d;
        const finished = step.to === 'executed' || step.to === 'failed' || step.to === 'aborted';
        const before = finished ? this.executions.get(id) : undefined;
        if (before) live.execution = before;
        if (event.type === 'decided') this.decisions.delete(id);
        // an executed proposal's inputs are kept for its observed effect
        if (finished && step.to !== 'executed') this.executions.delete(id);
        const history = event.type === 'timedOut' || finished ? this.o.journal.history(id) : [];
        return entriesOfStep(record.proposal, record.verdict, step, history, this.o.tags, live, false);
      });
    }
    if (step.to === 'executed') this.scheduleEffect(record.proposal, step.atMs, this.o.effectAfterMs);
  }

  /** A decision the gate admitted, before the dispatcher applies it: its record is written with the `decided` step. */
  decisionAdmitted(d: Decision): void {
    this.decisions.set(d.proposalId, d);
  }

  /** An admitted decision the journal did not apply (the proposal was no longer waiting for one). */
  decisionNotApplied(d: Decision, code: string, state: string | null): void {
    this.decisions.delete(d.proposalId);
    const atMs = this.o.clock();
    this.appendNow([{ atMs, kind: 'decision', subject: { proposalId: d.proposalId, decisionId: d.id }, body: { status: 'not-applied', outcome: d.outcome, code, state, ...decisionFields(d) } }]);
  }

  /** A hub decision refused (by the gate, or before it): no write, this record. */
  decisionRefused(r: RefusedDecision): void {
    const atMs = this.o.clock();
    const subject = { ...(r.proposalId && { proposalId: r.proposalId }), ...(r.decisionId && { decisionId: r.decisionId }) };
    this.appendNow([{ atMs, kind: 'decision', subject, body: { status: 'refused', code: r.code, message: r.message, outcome: r.outcome ?? null, decisionId: r.decisionId ?? null, receivedAtMs: atMs } }]);
  }

  /** What the device and readings said right before the write (the execution record reports it). */
  executing(proposalId: string, inputs: ExecutionInputs): void {
    this.executions.set(proposalId, inputs);
  }

  /** Appends what is queued, in one transaction. Never throws: a failed batch is kept for the next. */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const built = this.queue;
    this.queue = [];
    for (const make of built) {
      try {
        this.unwritten.push(...make());
      } catch (e) {
        this.o.logger.error({ err: e instanceof Error ? e.stack : String(e) }, 'dispatch audit: a record could not be built, dropped');
      }
    }
    if (this.unwritten.length === 0) return;
    const batch = this.unwritten;
    this.unwritten = [];
    this.append(batch);
  }

  /** Entries dropped because the chain refused them. */
  get dropped(): number {
    return this.droppedEntries;
  }

  /** Reconciles that failed (the caller tells: it logs and starts anyway). */
  get reconcileFailures(): number {
    return this.failedReconciles;
  }

  reconcileFailed(): void {
    this.failedReconciles++;
  }

  /** Appends `entries` now, in one transaction, after what is still unwritten. Never throws. */
  private appendNow(entries: AuditEntry[]): void {
    const batch = [...this.unwritten, ...entries];
    this.unwritten = [];
    this.append(batch);
  }

  /** Appends a batch in one transaction; keeps it when the disk fails; drops only the entries the chain refuses. */
  private append(batch: AuditEntry[]): void {
    try {
      this.o.audit.appendMany(batch);
      return;
    } catch (e) {
      if (!refusedByChain(e)) {
        this.o.logger.error({ err: e instanceof Error ? e.message : String(e), records: batch.length }, 'dispatch audit: a batch could not be appended, kept for the next');
        this.unwritten = [...batch, ...this.unwritten];
        return;
      }
    }
    // one entry is bad: the others go in, one at a time (a rare path)
    for (let i = 0; i < batch.length; i++) {
      const entry = batch[i]!;
      try {
        this.o.audit.append(entry);
      } catch (e) {
        if (!refusedByChain(e)) {
          this.o.logger.error({ err: e instanceof Error ? e.message : String(e), records: batch.length - i }, 'dispatch audit: records could not be appended, kept for the next');
          this.unwritten = [...batch.slice(i), ...this.unwritten];
          return;
        }
        this.droppedEntries++;
        this.o.logger.error({ err: e instanceof Error ? e.message : String(e), kind: entry.kind, subject: entry.subject, dropped: this.droppedEntries }, 'dispatch audit: a record was refused by the chain, dropped');
      }
    }
  }

  /** Resolves once every scheduled observed effect is recorded and the queue is flushed (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.effects.size > 0) await Promise.all([...this.effects.values()].map((x) => x.done));
    this.flush();
  }

  /** Stops the effect timers (a restart schedules what is still due) and flushes. */
  stop(): void {
    for (const e of this.effects.values()) clearTimeout(e.timer);
    this.effects.clear();
    this.depth = 0;
    this.flush();
  }

  private push(make: () => AuditEntry[]): void {
    this.queue.push(make);
    if (this.depth === 0 && this.scheduled === undefined) this.scheduled = setImmediate(() => this.flush());
  }

  private scheduleEffect(p: Proposal, executedAtMs: number, delayMs: number): void {
    let timer!: NodeJS.Timeout;
    const done = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.effects.delete(p.id);
        const nowMs = this.o.clock();
        const before = this.executions.get(p.id);
        this.executions.delete(p.id);
        this.push(() => [effectEntry(p, executedAtMs, executedAtMs + this.o.effectAfterMs, nowMs, this.o.tags, this.o.read, before)]);
        resolve();
      }, Math.max(0, delayMs));
    });
    this.effects.set(p.id, { timer, done });
  }

  /** What a restart still knows of a step: for a decision, the one the gate kept. */
  private recoveredDecision(proposalId: string, step: AuditStep): LiveFacts {
    if (step.event.type !== 'decided') return {};
    const outcome = step.event.decision;
    const d = this.o.admittedDecisions?.(proposalId).find((x) => x.outcome === outcome);
    return d ? { decision: d } : {};
  }
}

/** The chain refused the entry itself (it would refuse it again): not a disk or SQLite failure. */
function refusedByChain(e: unknown): boolean {
  return e instanceof Error && 'code' in e && (e.code === 'AUDIT_INVALID_ENTRY' || e.code === 'AUDIT_CANONICAL');
}
