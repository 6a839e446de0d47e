/**
 * The decision gate: the one place an escalated proposal's signed decision is let through, at most
 * once per decision id, even across restarts.
 *
 * Input: a signed decision (any value: it came from the wire) and the sealed proposal it answers.
 * Output: `admitted` with the verified decision, or `refused` with a stable code and a message an
 * operator can act on. The caller writes the audit record and runs the proposal (approve) or drops
 * it (reject); a refusal writes nothing here.
 * State kept: the ids of admitted decisions, in SQLite `used_decisions`, written in the same
 * IMMEDIATE transaction that checked the id (synchronous = FULL when the gate opens the file),
 * with the decision itself (`decision_json`), so that the audit trail can name who decided even
 * when the agent died before it wrote the decision's record (`admittedFor`).
 * Time: expiry is judged at max(clock, floor); the floor is the caller's and never falls, so a
 * clock wound back cannot revive an expired decision.
 */
import Database from 'better-sqlite3';
import type { KeyObject } from 'node:crypto';
import { verifyDecision, type Decision, type DecisionProblemCode } from '../../protocols/index.js';
import { proposalIntact } from './proposal.js';
import type { Proposal } from './types.js';
import { openSqliteFile } from '../store/sqlite-file.js';

export type DecisionRefusalCode =
  | DecisionProblemCode
  /** The decision's id was admitted before (this run or an earlier one). */
  | 'DECISION_REPLAYED'
  /** The local proposal no longer matches its own hash: something changed it after sealing. */
  | 'DECISION_PROPOSAL_ALTERED'
  /** The used-id store could not be read or written; nothing is admitted without it. */
  | 'DECISION_STORE_FAILED';

export type AdmitResult =
  | { status: 'admitted'; decision: Decision }
  | { status: 'refused'; code: DecisionRefusalCode; message: string };

export interface DecisionGateOptions {
  /** A SQLite file (created with its directory) or a database the caller holds and closes. */
  db: string | Database.Database;
  /** Public decision keys of the hub, by TUF key id. */
  trustedKeys: ReadonlyMap<string, KeyObject>;
  edgeId: string;
  siteId: string;
  /** The edge's clock, ms since the epoch. */
  clockMs: () => number;
  /** The edge's time floor (latest time ever seen); must never decrease. */
  timeFloorMs: () => number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS used_decisions (
  id TEXT PRIMARY KEY,
  proposal_id TEXT NOT NULL,
  used_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
`;
/** Added after the first release: a gate file from then gains the column; its older rows hold NULL. */
const DECISION_COLUMN = 'ALTER TABLE used_decisions ADD COLUMN decision_json TEXT';

export class DecisionGate {
  private readonly db: Database.Database;
  private readonly owned: boolean;
  private readonly findUsed: Database.Statement<[string], { proposal_id: string; used_at_ms: number }>;
  private readonly recordUsed: Database.Statement<[string, string, number, string]>;
  private readonly findFor: Database.Statement<[string], { decision_json: string }>;
  private readonly admitTx: (signed: unknown, proposal: Proposal) => AdmitResult;

  constructor(private readonly options: DecisionGateOptions) {
    if (typeof options.db === 'string') {
      this.db = openSqliteFile(options.db);
      this.owned = true;
    } else {
      this.db = options.db;
      this.owned = false;
    }
    this.db.exec(SCHEMA);
    const columns = this.db.prepare<[], { name: string }>('PRAGMA table_info(used_decisions)').all();
    if (!columns.some((c) => c.name === 'decision_json')) this.db.exec(DECISION_COLUMN);
    this.findUsed = this.db.prepare('SELECT proposal_id, used_at_ms FROM used_decisions WHERE id = ?');
    this.recordUsed = this.db.prepare('INSERT INTO used_decisions (id, proposal_id, used_at_ms, decision_json) VALUES (?, ?, ?, ?)');
    this.findFor = this.db.prepare('SELECT decision_json FROM used_decisions WHERE proposal_id = ? AND decision_json IS NOT NULL ORDER BY used_at_ms');
    this.admitTx = this.db.transaction((signed: unknown, proposal: Proposal) => this.check(signed, proposal)).immediate;
  }

  /** Verifies `signed` against `proposal` and, if it passes, uses its id up. Never throws. */
  admit(signed: unknown, proposal: Proposal): AdmitResult {
    try {
      return this.admitTx(signed, proposal);
    } catch (e) {
      return refuse('DECISION_STORE_FAILED', `the used-decision store failed, nothing admitted: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** The decisions admitted for `proposalId`, in the order they were admitted (those from before `decision_json` existed left out). */
  admittedFor(proposalId: string): Decision[] {
    return this.findFor.all(proposalId).map((r) => JSON.parse(r.decision_json) as Decision);
  }

  /** How many decision ids have been used up. */
  usedCount(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM used_decisions').get() as { n: number }).n;
  }

  close(): void {
    if (this.owned && this.db.open) this.db.close();
  }

  private check(signed: unknown, proposal: Proposal): AdmitResult {
    if (!proposalIntact(proposal)) {
      return refuse('DECISION_PROPOSAL_ALTERED', `proposal ${proposal.id} no longer matches its hash: it was changed after sealing; drop it and let the controller propose again`);
    }
    const { edgeId, siteId, trustedKeys } = this.options;
    const nowMs = Math.max(this.options.clockMs(), this.options.timeFloorMs());
    const v = verifyDecision(signed, { trustedKeys, edgeId, siteId, proposalHash: proposal.hash, nowMs });
    if (!v.ok) return refuse(v.code, v.message);
    const d = v.decision;
    if (d.proposalId !== proposal.id) {
      return refuse('DECISION_WRONG_PROPOSAL', `decision ${d.id} names proposal ${d.proposalId}, the proposal here is ${proposal.id}`);
    }
    const used = this.findUsed.get(d.id);
    if (used) {
      return refuse('DECISION_REPLAYED', `decision ${d.id} was already used at ${new Date(used.used_at_ms).toISOString()} for proposal ${used.proposal_id}; a decision runs at most once`);
    }
    this.recordUsed.run(d.id, d.proposalId, nowMs, JSON.stringify(d));
    return { status: 'admitted', decision: d };
  }
}

function refuse(code: DecisionRefusalCode, message: string): AdmitResult {
  return { status: 'refused', code, message };
}
