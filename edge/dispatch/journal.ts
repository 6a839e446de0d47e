/**
 * The dispatch journal: one row per proposal in `dispatch_proposals` (the sealed proposal, its
 * hash, the verdict, the current state, timestamps, execution attempts) and an append-only
 * history in `dispatch_events`. Every transition is one IMMEDIATE transaction that checks the
 * state machine (states.ts) and moves the row with a compare-and-set
 * (`UPDATE ... WHERE id = ? AND state = ?`): two writers, or a replay after a restart, cannot
 * move a proposal twice; the loser gets `EDGE_DISPATCH_CAS_LOST` or the state machine's refusal.
 *
 * `beginExecution` is the CAS to `executing`, committed BEFORE the device write: a crash after it
 * never writes again (at most once; see `onRestart` in states.ts).
 *
 * Durability (a file the journal opens itself; WAL): every transaction is committed with an fsync
 * (`synchronous = FULL`) except a proposal's first journaling (`propose`), committed with
 * `synchronous = NORMAL`, so the path from a reading to a journaled proposal waits for no disk.
 * Why that is safe: WAL with NORMAL survives a process crash (SIGKILL: the frames are in the OS),
 * and only a power cut can lose such a commit. A `proposed` row is known to nobody outside this
 * file: it has not been gated, escalated or written. The next transition of the same proposal
 * (gated to auto/escalated/denied) is FULL, and its fsync of the WAL makes the earlier frames
 * durable with it, so the escalation leaves for the hub and `beginExecution` commits before a
 * write only after everything before them is on disk. Losing a `proposed` row on a power cut
 * therefore only means the controller proposes for that interval again (`holds` no longer finds
 * one); a hub decision can only name a proposal that was escalated, hence durable, and one naming
 * a proposal this journal does not hold is refused (loop.ts, before the DecisionGate).
 * A database handed in by the caller keeps the caller's own setting for every transaction.
 * Time comes from the injected clock; nothing here reads `Date.now()`.
 */
import Database from 'better-sqlite3';
import type { Verdict } from '../policy/index.js';
import { proposalIntact } from './proposal.js';
import { FINAL_STATES, transition, type DispatchEvent, type DispatchState, type TransitionErrorCode } from './states.js';
import { DispatchError, type Proposal } from './types.js';
import { openSqliteFile } from '../store/sqlite-file.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS dispatch_proposals (
  id TEXT PRIMARY KEY,
  hash TEXT NOT NULL,
  proposal_json TEXT NOT NULL,
  verdict_json TEXT NOT NULL,
  state TEXT NOT NULL,
  reason TEXT,
  attempt INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL,
  state_since_ms INTEGER NOT NULL,
  seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dispatch_proposals_state ON dispatch_proposals (state);
CREATE INDEX IF NOT EXISTS dispatch_proposals_seq ON dispatch_proposals (seq);
CREATE INDEX IF NOT EXISTS dispatch_proposals_since ON dispatch_proposals (state_since_ms);
CREATE INDEX IF NOT EXISTS dispatch_proposals_interval ON dispatch_proposals (json_extract(proposal_json, '$.controller'), json_extract(proposal_json, '$.intervalStartMs'));
CREATE TABLE IF NOT EXISTS dispatch_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  proposal_id TEXT NOT NULL,
  from_state TEXT,
  to_state TEXT NOT NULL,
  event_json TEXT NOT NULL,
  reason TEXT,
  at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dispatch_events_proposal ON dispatch_events (proposal_id, seq);
`;

export interface DispatchRecord {
  proposal: Proposal;
  verdict: Verdict;
  state: DispatchState;
  /** Why the proposal is in its state (INTERRUPTED, READ_BACK, a failure's message), if said. */
  reason: string | null;
  /** Writes started: 0 or 1, never more. */
  attempt: number;
  createdMs: number;
  stateSinceMs: number;
}

export interface DispatchEventRecord {
  seq: number;
  proposalId: string;
  from: DispatchState | null;
  to: DispatchState;
  event: DispatchEvent | { type: 'journaled' };
  reason: string | null;
  atMs: number;
}

/** Why the journal did not apply a transition. */
export type JournalErrorCode = TransitionErrorCode | 'EDGE_DISPATCH_UNKNOWN_PROPOSAL' | 'EDGE_DISPATCH_CAS_LOST';

export type ApplyResult = { ok: true; from: DispatchState; record: DispatchRecord } | { ok: false; error: JournalErrorCode; state: DispatchState | null };

export interface JournalOptions {
  clock: () => number;
  /** Called after each committed transition (metrics, logs, fault tests); synchronous. */
  onTransition?: (record: DispatchRecord, from: DispatchState | null, event: DispatchEventRecord['event']) => void;
  /**
   * false: this connection never checkpoints the WAL (a file the journal opens itself). For a
   * caller whose other connection on the same file commits off the latency path and checkpoints
   * there (the loop's cycle log, recorded after each cycle's journaling): otherwise about one
   * journal commit in a hundred copies the WAL into the database and syncs both. Default true.
   */
  autoCheckpoint?: boolean;
}

interface Row {
  id: string;
  hash: string;
  proposal_json: string;
  verdict_json: string;
  state: DispatchState;
  reason: string | null;
  attempt: number;
  created_ms: number;
  state_since_ms: number;
}

const NOT_FINAL = `state NOT IN (${FINAL_STATES.map((s) => `'${s}'`).join(', ')})`;

export class DispatchJournal {
  private readonly db: Database.Database;
  private readonly owned: boolean;
  private readonly relaxed: { normal: () => void; full: () => void } | undefined;
  private readonly clock: () => number;
  private readonly onTransition: JournalOptions['onTransition'];
  /** Prepared once per SQL text: compiling a statement costs about as much as running it. */
  private readonly statements = new Map<string, Database.Statement>();

  /** Opens (creating) the journal tables in a SQLite file, or in a database the caller holds. */
  constructor(fileOrDb: string | Database.Database, options: JournalOptions) {
    if (typeof fileOrDb === 'string') {
      this.db = openSqliteFile(fileOrDb);
      if (options.autoCheckpoint === false) this.db.pragma('wal_autocheckpoint = 0');
      this.owned = true;
      // `PRAGMA synchronous` applies per connection from the next transaction on (see the header)
      const normal = this.db.prepare('PRAGMA synchronous = NORMAL');
      const full = this.db.prepare('PRAGMA synchronous = FULL');
      this.relaxed = { normal: () => normal.run(), full: () => full.run() };
    } else {
      this.db = fileOrDb;
      this.owned = false;
      this.relaxed = undefined;
    }
    this.db.exec(SCHEMA);
    this.clock = options.clock;
    this.onTransition = options.onTransition;
  }

  /**
   * Records a sealed proposal and its verdict in `proposed`; idempotent by proposal id (a second
   * call returns the stored record, `created: false`). Refuses a proposal whose hash does not
   * match its content, or an id already stored with another hash.
   */
  propose(p: Proposal, verdict: Verdict): { created: boolean; record: DispatchRecord } {
    if (!proposalIntact(p)) throw new DispatchError('EDGE_DISPATCH_DATA', `proposal ${p.id}: its hash does not match its content, refused`);
    // without an fsync: only the first journaling, see the header for why that is safe
    this.relaxed?.normal();
    let result: { created: boolean; record: DispatchRecord };
    try {
      result = this.db.transaction(() => this.insert(p, verdict)).immediate();
    } finally {
      this.relaxed?.full();
    }
    if (result.created) this.onTransition?.(result.record, null, { type: 'journaled' });
    return result;
  }

  /** Applies one event: state machine check and compare-and-set, in one transaction. */
  apply(id: string, event: DispatchEvent, reason: string | null = null): ApplyResult {
    const result = this.db.transaction(() => this.move(id, event, reason)).immediate();
    if (result.ok) this.onTransition?.(result.record, result.from, event);
    return result;
  }

  /**
   * An escalation timed out into a safe fallback: expires `id` with `reason` and journals the
   * fallback proposal (state `proposed`) in ONE transaction, so a crash leaves both or neither;
   * the fallback then resumes like any proposal. Without `fallback`, just the expiry.
   */
  expireWithFallback(id: string, reason: string, fallback?: { proposal: Proposal; verdict: Verdict }): ApplyResult {
    if (fallback && !proposalIntact(fallback.proposal)) throw new DispatchError('EDGE_DISPATCH_DATA', `fallback ${fallback.proposal.id}: its hash does not match its content, refused`);
    const event: DispatchEvent = { type: 'timedOut' };
    const run = this.db.transaction(() => {
      const expired = this.move(id, event, reason);
      const added = expired.ok && fallback ? this.insert(fallback.proposal, fallback.verdict) : undefined;
      return { expired, added };
    });
    const { expired, added } = run.immediate();
    if (expired.ok) this.onTransition?.(expired.record, expired.from, event);
    if (added?.created) this.onTransition?.(added.record, null, { type: 'journaled' });
    return expired;
  }

  /** The CAS to `executing`, to commit BEFORE any device write (at most once). */
  beginExecution(id: string): ApplyResult {
    return this.apply(id, { type: 'executionStarted' });
  }

  get(id: string): DispatchRecord | undefined {
    const row = this.row(id);
    return row ? toRecord(row) : undefined;
  }

  /** Escalated proposals waiting for a decision, oldest first. */
  pending(): DispatchRecord[] {
    return (this.stmt("SELECT * FROM dispatch_proposals WHERE state = 'escalated' ORDER BY seq").all() as Row[]).map(toRecord);
  }

  /** Every proposal not in a final state, in the order they were journaled: what a restart resumes. */
  resumable(): DispatchRecord[] {
    return (this.stmt(`SELECT * FROM dispatch_proposals WHERE ${NOT_FINAL} ORDER BY seq`).all() as Row[]).map(toRecord);
  }

  /**
   * Whether a proposal of this controller for the interval starting at `intervalStartMs` is held,
   * whatever its state. An index lookup: a cycle asks it once per proposal, and the journal grows.
   */
  holds(controller: string, intervalStartMs: number): boolean {
    return this.stmt("SELECT 1 FROM dispatch_proposals WHERE json_extract(proposal_json, '$.controller') = ? AND json_extract(proposal_json, '$.intervalStartMs') = ? LIMIT 1").get(controller, intervalStartMs) !== undefined;
  }

  /**
   * The policy's rate-limit counters: auto proposals whose write started (attempt 1) and whose
   * state changed at or after `countSinceMs` (how many) and `energySinceMs` (their energy, summed
   * in journal order). The same as walking `changedSince` but without parsing every record of
   * the day: a cycle asks it on the path from reading to proposal, and the day's journal grows.
   */
  autoActivity(countSinceMs: number, energySinceMs: number): { count: number; energyKwh: number } {
    const rows = this.stmt(
      "SELECT state_since_ms AS since, json_extract(proposal_json, '$.energyKwh') AS energyKwh FROM dispatch_proposals INDEXED BY dispatch_proposals_since WHERE state_since_ms >= ? AND attempt > 0 AND json_extract(verdict_json, '$.outcome') = 'auto' ORDER BY seq",
    ).all(Math.min(countSinceMs, energySinceMs)) as { since: number; energyKwh: number }[];
    let count = 0;
    let energyKwh = 0;
    for (const r of rows) {
      if (r.since >= countSinceMs) count++;
      if (r.since >= energySinceMs) energyKwh += r.energyKwh;
    }
    return { count, energyKwh };
  }

  /** Proposals whose state changed at or after `ms` (state_since_ms), in journal order: an index range. */
  changedSince(ms: number): DispatchRecord[] {
    // INDEXED BY: left to itself, the planner walks the seq index (whole table) to skip the sort
    return (this.stmt('SELECT * FROM dispatch_proposals INDEXED BY dispatch_proposals_since WHERE state_since_ms >= ? ORDER BY seq').all(ms) as Row[]).map(toRecord);
  }

  all(): DispatchRecord[] {
    return (this.stmt('SELECT * FROM dispatch_proposals ORDER BY seq').all() as Row[]).map(toRecord);
  }

  /** The history of one proposal, oldest first. */
  history(id: string): DispatchEventRecord[] {
    const rows = this.stmt('SELECT * FROM dispatch_events WHERE proposal_id = ? ORDER BY seq').all(id) as { seq: number; proposal_id: string; from_state: DispatchState | null; to_state: DispatchState; event_json: string; reason: string | null; at_ms: number }[];
    return rows.map((r) => ({ seq: r.seq, proposalId: r.proposal_id, from: r.from_state, to: r.to_state, event: JSON.parse(r.event_json) as DispatchEventRecord['event'], reason: r.reason, atMs: r.at_ms }));
  }

  close(): void {
    if (this.owned && this.db.open) this.db.close();
  }

  /** Inside a transaction: the insert of `propose`, idempotent by id. */
  private insert(p: Proposal, verdict: Verdict): { created: boolean; record: DispatchRecord } {
    const existing = this.row(p.id);
    if (existing) {
      if (existing.hash !== p.hash) throw new DispatchError('EDGE_DISPATCH_DATA', `proposal ${p.id} is journaled with hash ${existing.hash}, not ${p.hash}`);
      return { created: false, record: toRecord(existing) };
    }
    const now = this.clock();
    this.stmt('INSERT INTO dispatch_proposals (id, hash, proposal_json, verdict_json, state, created_ms, state_since_ms, seq) VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM dispatch_proposals))')
      .run(p.id, p.hash, JSON.stringify(p), JSON.stringify(verdict), 'proposed', now, now);
    this.appendEvent(p.id, null, 'proposed', { type: 'journaled' }, null, now);
    return { created: true, record: toRecord(this.row(p.id)!) };
  }

  /** Inside a transaction: the state machine check and compare-and-set of `apply`. */
  private move(id: string, event: DispatchEvent, reason: string | null): ApplyResult {
    const row = this.row(id);
    if (!row) return { ok: false, error: 'EDGE_DISPATCH_UNKNOWN_PROPOSAL', state: null };
    const t = transition(row.state, event);
    if ('error' in t) return { ok: false, error: t.error, state: row.state };
    const now = this.clock();
    const why = reason ?? (event.type === 'aborted' ? event.reason : null);
    const attempt = event.type === 'executionStarted' ? 1 : 0;
    const changed = this.stmt('UPDATE dispatch_proposals SET state = ?, reason = ?, state_since_ms = ?, attempt = attempt + ? WHERE id = ? AND state = ?')
      .run(t.next, why, now, attempt, id, row.state).changes;
    if (changed !== 1) return { ok: false, error: 'EDGE_DISPATCH_CAS_LOST', state: row.state };
    this.appendEvent(id, row.state, t.next, event, why, now);
    return { ok: true, from: row.state, record: toRecord(this.row(id)!) };
  }

  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (st === undefined) this.statements.set(sql, (st = this.db.prepare(sql)));
    return st;
  }

  private row(id: string): Row | undefined {
    return this.stmt('SELECT * FROM dispatch_proposals WHERE id = ?').get(id) as Row | undefined;
  }

  private appendEvent(id: string, from: DispatchState | null, to: DispatchState, event: DispatchEventRecord['event'], reason: string | null, atMs: number): void {
    this.stmt('INSERT INTO dispatch_events (proposal_id, from_state, to_state, event_json, reason, at_ms) VALUES (?, ?, ?, ?, ?, ?)').run(id, from, to, JSON.stringify(event), reason, atMs);
  }
}

function toRecord(r: Row): DispatchRecord {
  return {
    proposal: JSON.parse(r.proposal_json) as Proposal,
    verdict: JSON.parse(r.verdict_json) as Verdict,
    state: r.state,
    reason: r.reason,
    attempt: r.attempt,
    createdMs: r.created_ms,
    stateSinceMs: r.state_since_ms,
  };
}
