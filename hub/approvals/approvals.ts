/**
 * Deciding escalations: who may approve comes from the edge's policy rule (the verdict's
 * approval roles, exact membership), how many distinct people from its approvers (1 or 2).
 * The person who last changed that rule (the verdict's `ruleChangedBy`) may not approve it, for
 * every escalation, not only two-person ones (403 HUB_APPROVAL_RULE_AUTHOR): whoever wrote what a
 * machine may do is not the one who lets it do more. They may still reject: a rejection writes
 * nothing to the grid, and stopping an action is never held back.
 * The final approval, or any one rejection, makes the hub sign a Decision with its decision key
 * and publish it to the edge on `cmd/decision` (QoS 1). Every action is appended to the hub's
 * audit log (kind `decision`).
 *
 * Input: a user, an escalation id, approve|reject and a comment. Output: the escalation as it
 * now stands, or a refusal with a stable code. State kept: SQLite (ApprovalStore).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { commandTopic, encodeEnvelope, envelope, signDecision, signedDecisionToWire, type Decision, type SignedDecision } from '../../protocols/index.js';
import type { HubAuditLog } from '../audit/index.js';
import type { Role } from '../auth/index.js';
import type { DecisionKey } from './decision-key.js';
import type { ApprovalStore, EscalationRow } from './store.js';

export type ApprovalErrorCode =
  | 'HUB_APPROVAL_NOT_FOUND'
  /** The deadline passed: the edge has stopped waiting. */
  | 'HUB_APPROVAL_EXPIRED'
  | 'HUB_APPROVAL_DECIDED'
  /** The user's role is not among the rule's approval roles. */
  | 'HUB_APPROVAL_ROLE'
  /** The two-person rule: this user already approved. */
  | 'HUB_APPROVAL_SAME_APPROVER'
  /** The user last changed the policy rule behind the escalation: nobody approves their own rule's actions. */
  | 'HUB_APPROVAL_RULE_AUTHOR';

export type ActResult = { ok: true; escalation: EscalationRow } | { ok: false; status: 403 | 404 | 409; code: ApprovalErrorCode; message: string };

/** Hands encoded envelopes to the broker; rejects when it cannot. */
export type DecisionPublisher = (topic: string, bytes: Uint8Array) => Promise<void>;

export interface ApprovalsOptions {
  store: ApprovalStore;
  key: DecisionKey;
  audit: HubAuditLog;
  now: () => number;
  logger: Logger;
}

export class Approvals {
  private publisher: DecisionPublisher | undefined;
  private readonly log: Logger;

  constructor(private readonly o: ApprovalsOptions) {
    this.log = o.logger.child({ component: 'approvals' });
  }

  /** Set once the broker client is connected (undefined when it stops). */
  setPublisher(p: DecisionPublisher | undefined): void {
    this.publisher = p;
  }

  async act(id: number, user: { name: string; role: Role }, action: 'approve' | 'reject', comment: string): Promise<ActResult> {
    const { store, now } = this.o;
    const t = now();
    const result = store.transaction((): ActResult => {
      store.expire(t);
      const e = store.get(id);
      if (!e) return { ok: false, status: 404, code: 'HUB_APPROVAL_NOT_FOUND', message: `no escalation ${id}` };
      if (e.state === 'expired') return { ok: false, status: 409, code: 'HUB_APPROVAL_EXPIRED', message: `escalation ${id} expired at ${new Date(e.deadlineMs).toISOString()}: the edge no longer waits for it` };
      if (e.state !== 'pending') return { ok: false, status: 409, code: 'HUB_APPROVAL_DECIDED', message: `escalation ${id} is already ${e.state}` };
      if (!e.approvalRoles.includes(user.role)) {
        const who = e.approvalRoles.length > 0 ? `only ${e.approvalRoles.join(', ')} may decide it` : 'its rule names no approval roles, so nobody at the hub may decide it';
        return { ok: false, status: 403, code: 'HUB_APPROVAL_ROLE', message: `escalation ${id} (rule ${e.verdict.ruleId}): ${who}; you are ${user.role}` };
      }
      if (action === 'approve' && e.verdict.ruleChangedBy !== undefined && e.verdict.ruleChangedBy === user.name) {
        return { ok: false, status: 403, code: 'HUB_APPROVAL_RULE_AUTHOR', message: `escalation ${id}: you (${user.name}) last changed policy rule ${e.verdict.ruleId} (${e.verdict.policyId} v${e.verdict.policyVersion}), so another ${e.approvalRoles.join(' or ')} must approve it` };
      }
      if (e.approvals.some((a) => a.userName === user.name)) {
        return { ok: false, status: 409, code: 'HUB_APPROVAL_SAME_APPROVER', message: `you already approved escalation ${id}; the two-person rule needs another ${e.approvalRoles.join(' or ')}` };
      }
      if (action === 'approve') store.addApproval(id, { userName: user.name, role: user.role, comment, atMs: t });
      const approvers = action === 'approve' ? [...e.approvals.map((a) => a.userName), user.name] : [user.name];
      const final = action === 'reject' || approvers.length >= e.approversRequired;
      let signed: SignedDecision | undefined;
      if (final) {
        const decision: Decision = {
          id: randomUUID(),
          edgeId: e.edgeId,
          siteId: e.siteId,
          proposalId: e.proposalId,
          proposalHash: e.proposalHash,
          outcome: action,
          approvers,
          ...(comment ? { comment } : {}),
          issuedAtMs: t,
          expiresAtMs: e.deadlineMs,
        };
        signed = signDecision(decision, this.o.key.privateKey);
        store.decide(id, action === 'approve' ? 'approved' : 'rejected', signed, t);
      }
      this.o.audit.append({
        atMs: t,
        kind: 'decision',
        subject: { proposalId: e.proposalId, edgeId: e.edgeId, ...(signed ? { decisionId: signed.decision.id } : {}) },
        body: { escalationId: id, action, user: user.name, role: user.role, comment, final, approvers, proposalHash: e.proposalHash },
      });
      return { ok: true, escalation: store.get(id)! };
    });
    if (result.ok && result.escalation.decision) await this.publish(result.escalation);
    return result.ok ? { ok: true, escalation: store.get(id)! } : result;
  }

  /** Publishes decisions signed but not yet handed to the broker (after a restart, or a broker outage). */
  async republishPending(): Promise<void> {
    for (const id of this.o.store.unpublished()) {
      const e = this.o.store.get(id);
      if (e) await this.publish(e);
    }
  }

  private async publish(e: EscalationRow): Promise<void> {
    const signed = e.decision;
    if (!signed) return;
    if (!this.publisher) {
      this.log.warn({ escalation: e.id, edge: e.edgeId }, 'decision signed but the broker is not connected; it is sent when the hub starts');
      return;
    }
    const env = envelope({ edgeId: e.edgeId, siteId: e.siteId, seq: 0, sentAtMs: this.o.now(), payload: { kind: 'decision', decision: signedDecisionToWire(signed) } });
    try {
      await this.publisher(commandTopic(e.siteId, e.edgeId, 'decision'), encodeEnvelope(env));
      this.o.store.markPublished(e.id, this.o.now());
      this.log.info({ escalation: e.id, edge: e.edgeId, decision: signed.decision.id, outcome: signed.decision.outcome }, 'decision published');
    } catch (err) {
      this.log.warn({ escalation: e.id, edge: e.edgeId, err: err instanceof Error ? err.message : String(err) }, 'could not publish a decision; it is sent again when the hub restarts');
    }
  }
}
