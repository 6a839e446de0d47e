/**
 * hub/approvals at the level of `Approvals.act` (no HTTP; hub-rbac.test.ts covers the routes): the rule author's exclusion
 * (HUB_APPROVAL_RULE_AUTHOR) for one- and two-person rules, alongside the role check and the
 * two-person rule. SQLite on disk (the hub's store), the real decision key and audit log.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApprovalStore, Approvals, loadOrCreateDecisionKey } from '../../hub/approvals/index.js';
import { HubAuditLog, HubStore } from '../../hub/index.js';
import { sha256Hex, type Escalation } from '../../protocols/index.js';

const T0 = 1_780_000_000_000;
let dir: string;
let store: HubStore;
let approvals: Approvals;
let audit: HubAuditLog;
let seq = 0;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gridos-approvals-'));
  store = new HubStore(join(dir, 'hub.db'));
  audit = new HubAuditLog(store.sqlite(), { chainId: 'hub', table: 'hub_audit' });
  approvals = new Approvals({ store: new ApprovalStore(store.sqlite()), key: loadOrCreateDecisionKey(join(dir, 'decision-key.pem')), audit, now: () => T0, logger: pino({ level: 'silent' }) });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Stores an escalation as ingest does; returns its queue id. */
function escalate(approversRequired: 1 | 2, ruleChangedBy?: string): number {
  seq++;
  const proposalJson = Buffer.from(JSON.stringify({ action: 'battery_discharge', magnitudeKw: 400, n: seq }), 'utf8');
  const e: Escalation = {
    proposalJson, proposalHash: sha256Hex(proposalJson), proposalId: `peak-${seq}`, escalatedAtMs: T0, deadlineMs: T0 + 600_000,
    verdict: { outcome: 'escalate', ruleId: 'bess-medium', reasons: [], policyId: 'north', policyVersion: 7, flags: [], approvalRoles: ['operator', 'supervisor'], approversRequired, ...(ruleChangedBy && { ruleChangedBy }) },
  };
  store.receive({ edgeId: 'e1', siteId: 's1', seq, nowMs: T0, payload: { kind: 'escalation', escalation: e } });
  const row = new ApprovalStore(store.sqlite()).list('pending', 1000).find((r) => r.proposalId === e.proposalId);
  if (!row) throw new Error('escalation not stored');
  return row.id;
}

describe('the person who last changed the rule', () => {
  it.each([1, 2] as const)('may not approve an escalation of it (%i approver(s)); nothing is recorded for them', async (n) => {
    const id = escalate(n, 'ana');
    const r = await approvals.act(id, { name: 'ana', role: 'supervisor' }, 'approve', '');
    expect(r).toMatchObject({ ok: false, status: 403, code: 'HUB_APPROVAL_RULE_AUTHOR' });
    if (!r.ok) expect(r.message).toBe(`escalation ${id}: you (ana) last changed policy rule bess-medium (north v7), so another operator or supervisor must approve it`);
    const other = await approvals.act(id, { name: 'ben', role: 'operator' }, 'approve', 'ok');
    expect(other).toMatchObject({ ok: true, escalation: { state: n === 1 ? 'approved' : 'pending', approvals: [{ userName: 'ben' }] } });
    expect(audit.rows().map((x) => (JSON.parse(x.bodyJson) as { user: string }).user)).toEqual(['ben']);
  });

  it('a role check still comes first, and the author may reject', async () => {
    const id = escalate(1, 'ana');
    expect(await approvals.act(id, { name: 'ana', role: 'viewer' }, 'approve', '')).toMatchObject({ ok: false, code: 'HUB_APPROVAL_ROLE' });
    expect(await approvals.act(id, { name: 'ana', role: 'operator' }, 'reject', 'no')).toMatchObject({ ok: true, escalation: { state: 'rejected', decision: { decision: { outcome: 'reject', approvers: ['ana'] } } } });
  });

  it('without changedBy in the policy nobody is excluded', async () => {
    const id = escalate(1);
    expect(await approvals.act(id, { name: 'ana', role: 'operator' }, 'approve', '')).toMatchObject({ ok: true, escalation: { state: 'approved' } });
  });
});
