/**
 * Escalations waiting for people, the approvals given so far, and the decisions signed, in the
 * hub's SQLite file. Ingest inserts escalations (hub/store); this file reads and decides them.
 *
 * An escalation whose deadline has passed is `expired` (the edge has stopped waiting and applied
 * its policy's on-timeout); `expire(now)` marks them before anything reads or decides.
 */
import type Database from 'better-sqlite3';
import type { SignedDecision, VerdictSummary } from '../../protocols/index.js';
import type { Role } from '../auth/index.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS escalation_approvals (
  escalation_id INTEGER NOT NULL REFERENCES escalations (id), user_name TEXT NOT NULL, role TEXT NOT NULL,
  comment TEXT NOT NULL, at_ms INTEGER NOT NULL, PRIMARY KEY (escalation_id, user_name)) STRICT;
CREATE TABLE IF NOT EXISTS escalation_decisions (
  escalation_id INTEGER PRIMARY KEY REFERENCES escalations (id), decision_id TEXT NOT NULL, signed_json TEXT NOT NULL,
  published_ms INTEGER NOT NULL DEFAULT 0) STRICT;
`;

export const ESCALATION_STATES = ['pending', 'approved', 'rejected', 'expired'] as const;
export type EscalationState = (typeof ESCALATION_STATES)[number];

export interface ApprovalRow {
  userName: string;
  role: Role;
  comment: string;
  atMs: number;
}

export interface EscalationRow {
  id: number;
  edgeId: string;
  siteId: string;
  proposalId: string;
  proposalHash: string;
  /** The proposal's content, parsed from its canonical JSON. */
  proposal: unknown;
  verdict: Omit<VerdictSummary, 'approvalRoles' | 'approversRequired'>;
  approvalRoles: string[];
  approversRequired: number;
  escalatedAtMs: number;
  deadlineMs: number;
  receivedMs: number;
  state: EscalationState;
  decidedMs: number;
  approvals: ApprovalRow[];
  decision: SignedDecision | null;
  published: boolean;
}

export class ApprovalStore {
  private readonly s;

  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      expire: p(`UPDATE escalations SET state = 'expired', decided_ms = deadline_ms WHERE state = 'pending' AND deadline_ms <= ?`),
      list: p('SELECT * FROM escalations WHERE (? IS NULL OR state = ?) ORDER BY id DESC LIMIT ?'),
      one: p('SELECT * FROM escalations WHERE id = ?'),
      approvals: p('SELECT user_name AS userName, role, comment, at_ms AS atMs FROM escalation_approvals WHERE escalation_id = ? ORDER BY at_ms, rowid'),
      approve: p('INSERT INTO escalation_approvals (escalation_id, user_name, role, comment, at_ms) VALUES (?, ?, ?, ?, ?)'),
      decide: p('UPDATE escalations SET state = ?, decided_ms = ? WHERE id = ? AND state = ?'),
      decision: p('INSERT INTO escalation_decisions (escalation_id, decision_id, signed_json) VALUES (?, ?, ?)'),
      decisionOf: p('SELECT signed_json AS signedJson, published_ms AS publishedMs FROM escalation_decisions WHERE escalation_id = ?'),
      published: p('UPDATE escalation_decisions SET published_ms = ? WHERE escalation_id = ?'),
      unpublished: p('SELECT escalation_id FROM escalation_decisions WHERE published_ms = 0').pluck(),
    };
  }

  /** Marks pending escalations past their deadline as expired. */
  expire(nowMs: number): void {
    this.s.expire.run(nowMs);
  }

  list(state: EscalationState | undefined, limit: number): EscalationRow[] {
    return (this.s.list.all(state ?? null, state ?? null, limit) as Record<string, string | number>[]).map((r) => this.row(r));
  }

  get(id: number): EscalationRow | undefined {
    const r = this.s.one.get(id) as Record<string, string | number> | undefined;
    return r ? this.row(r) : undefined;
  }

  addApproval(id: number, a: ApprovalRow): void {
    this.s.approve.run(id, a.userName, a.role, a.comment, a.atMs);
  }

  /** Moves a pending escalation to its final state and stores the signed decision. */
  decide(id: number, state: 'approved' | 'rejected', signed: SignedDecision, nowMs: number): void {
    if (this.s.decide.run(state, nowMs, id, 'pending').changes !== 1) throw new Error(`escalation ${id} is no longer pending`);
    this.s.decision.run(id, signed.decision.id, JSON.stringify(signed));
  }

  markPublished(id: number, nowMs: number): void {
    this.s.published.run(nowMs, id);
  }

  /** Escalations whose decision was signed but not yet handed to the broker. */
  unpublished(): number[] {
    return this.s.unpublished.all() as number[];
  }

  /** Runs `fn` in one immediate transaction. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  private row(r: Record<string, string | number>): EscalationRow {
    const id = Number(r.id);
    const d = this.s.decisionOf.get(id) as { signedJson: string; publishedMs: number } | undefined;
    return {
      id,
      edgeId: String(r.edge_id),
      siteId: String(r.site_id),
      proposalId: String(r.proposal_id),
      proposalHash: String(r.proposal_hash),
      proposal: parseOr(String(r.proposal_json)),
      verdict: JSON.parse(String(r.verdict_json)) as EscalationRow['verdict'],
      approvalRoles: JSON.parse(String(r.approval_roles)) as string[],
      approversRequired: Number(r.approvers_required),
      escalatedAtMs: Number(r.escalated_at_ms),
      deadlineMs: Number(r.deadline_ms),
      receivedMs: Number(r.received_ms),
      state: String(r.state) as EscalationState,
      decidedMs: Number(r.decided_ms),
      approvals: this.s.approvals.all(id) as ApprovalRow[],
      decision: d ? (JSON.parse(d.signedJson) as SignedDecision) : null,
      published: d ? d.publishedMs > 0 : false,
    };
  }
}

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
