/** Signed hub decisions at the edge: verify, bind, expire against the floor, use each id once (real SQLite file). */
import { createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { DecisionGate, sealProposal, type AdmitResult, type Proposal } from '../../edge/dispatch/index.js';
import { signDecision, signedDecisionFromWire, signedDecisionToWire, decisionKeyId, verifyDecision, type Decision, type SignedDecision } from '../../protocols/index.js';

const T0 = 1_780_000_000_000;
const HOUR = 3_600_000;
const hubKey = generateKeyPairSync('ed25519').privateKey;
const otherKey = generateKeyPairSync('ed25519').privateKey;
const trustedKeys = new Map<string, KeyObject>([[decisionKeyId(hubKey), createPublicKey(hubKey)]]);

const proposal: Proposal = sealProposal({
  controller: 'peak-shaving',
  edgeId: 'edge-1',
  siteId: 'site-a',
  assetId: 'bess-01',
  action: 'battery_discharge',
  magnitudeKw: 420.5,
  energyKwh: 420.5,
  intervalStartMs: T0 + HOUR,
  intervalEndMs: T0 + 2 * HOUR,
  setpoint: { point: 'bess1.power_setpoint_kw', value: 420.5, unit: 'kW' },
  reason: 'forecast p90 3820 kW exceeds the 3400 kW limit',
  forecast: null,
  measurement: null,
});

function decision(over: Partial<Decision> = {}): Decision {
  return {
    id: randomUUID(),
    edgeId: 'edge-1',
    siteId: 'site-a',
    proposalId: proposal.id,
    proposalHash: proposal.hash,
    outcome: 'approve',
    approvers: ['operator:ana'],
    comment: 'ok for the evening peak',
    issuedAtMs: T0,
    expiresAtMs: T0 + 15 * 60_000,
    ...over,
  };
}

const dirs: string[] = [];
const gates: DecisionGate[] = [];
afterEach(() => {
  while (gates.length) gates.pop()!.close();
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

function dbFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gridos-decisions-'));
  dirs.push(dir);
  return join(dir, 'edge.db');
}

function gate(file = dbFile(), clock = { nowMs: T0 + 60_000, floorMs: T0 }) {
  const g = new DecisionGate({ db: file, trustedKeys, edgeId: 'edge-1', siteId: 'site-a', clockMs: () => clock.nowMs, timeFloorMs: () => clock.floorMs });
  gates.push(g);
  return { g, file, clock };
}

function refused(r: AdmitResult): string {
  if (r.status !== 'refused') throw new Error(`expected a refusal, got ${r.status}`);
  expect(r.message.length).toBeGreaterThan(10);
  return r.code;
}

describe('DecisionGate', () => {
  it('admits a decision signed by the hub key for this edge, site and proposal, and records its id', () => {
    const { g } = gate();
    const signed = signDecision(decision(), hubKey);
    const r = g.admit(signed, proposal);
    expect(r).toEqual({ status: 'admitted', decision: signed.decision });
    expect(g.usedCount()).toBe(1);
  });

  it('admits a reject decision too (it is used up just the same)', () => {
    const { g } = gate();
    const r = g.admit(signDecision(decision({ outcome: 'reject', approvers: [] }), hubKey), proposal);
    expect(r.status === 'admitted' && r.decision.outcome).toBe('reject');
  });

  it('refuses the same decision a second time', () => {
    const { g } = gate();
    const signed = signDecision(decision(), hubKey);
    expect(g.admit(signed, proposal).status).toBe('admitted');
    expect(refused(g.admit(signed, proposal))).toBe('DECISION_REPLAYED');
    expect(g.usedCount()).toBe(1);
  });

  it('refuses a replay after the SQLite file is closed and reopened', () => {
    const first = gate();
    const signed = signDecision(decision(), hubKey);
    expect(first.g.admit(signed, proposal).status).toBe('admitted');
    first.g.close();
    const second = gate(first.file);
    expect(refused(second.g.admit(JSON.parse(JSON.stringify(signed)), proposal))).toBe('DECISION_REPLAYED');
  });

  it('admits one of two concurrent admits of the same decision in one process, and one across two connections', async () => {
    const { g, file } = gate();
    const signed = signDecision(decision(), hubKey);
    const results = await Promise.all([0, 1, 2, 3].map(() => Promise.resolve().then(() => g.admit(signed, proposal))));
    expect(results.filter((r) => r.status === 'admitted')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'refused' && r.code === 'DECISION_REPLAYED')).toHaveLength(3);

    const other = signDecision(decision(), hubKey);
    const conn = new Database(file);
    const a = new DecisionGate({ db: conn, trustedKeys, edgeId: 'edge-1', siteId: 'site-a', clockMs: () => T0 + 1, timeFloorMs: () => T0 });
    const both = [g.admit(other, proposal), a.admit(other, proposal)];
    expect(both.map((r) => r.status).sort()).toEqual(['admitted', 'refused']);
    conn.close();
  });

  it('refuses a tampered proposal hash (signature no longer matches) and a decision for another proposal', () => {
    const { g } = gate();
    const signed = signDecision(decision(), hubKey);
    const tampered = { ...signed, decision: { ...signed.decision, proposalHash: 'a'.repeat(64) } };
    expect(refused(g.admit(tampered, proposal))).toBe('DECISION_BAD_SIGNATURE');
    const elsewhere = signDecision(decision({ proposalHash: 'b'.repeat(64) }), hubKey);
    expect(refused(g.admit(elsewhere, proposal))).toBe('DECISION_WRONG_PROPOSAL');
    const otherId = signDecision(decision({ proposalId: 'peak-shaving-0000000000000000' }), hubKey);
    expect(refused(g.admit(otherId, proposal))).toBe('DECISION_WRONG_PROPOSAL');
    expect(g.usedCount()).toBe(0);
  });

  it('refuses when the proposal was changed after sealing, even with a valid decision for its hash', () => {
    const { g } = gate();
    const changed: Proposal = { ...proposal, magnitudeKw: 4200, setpoint: { ...proposal.setpoint, value: 4200 } };
    expect(refused(g.admit(signDecision(decision(), hubKey), changed))).toBe('DECISION_PROPOSAL_ALTERED');
    expect(g.usedCount()).toBe(0);
  });

  it('refuses a decision for another edge, and for another site', () => {
    const { g } = gate();
    expect(refused(g.admit(signDecision(decision({ edgeId: 'edge-2' }), hubKey), proposal))).toBe('DECISION_WRONG_EDGE');
    expect(refused(g.admit(signDecision(decision({ siteId: 'site-b' }), hubKey), proposal))).toBe('DECISION_WRONG_EDGE');
    expect(g.usedCount()).toBe(0);
  });

  it('refuses an expired decision, and winding the clock back below the floor does not revive it', () => {
    const { g, clock } = gate();
    const signed = signDecision(decision(), hubKey);
    clock.nowMs = signed.decision.expiresAtMs;
    clock.floorMs = signed.decision.expiresAtMs;
    expect(refused(g.admit(signed, proposal))).toBe('DECISION_EXPIRED');
    clock.nowMs = T0 + 1;
    expect(refused(g.admit(signed, proposal))).toBe('DECISION_EXPIRED');
    expect(g.usedCount()).toBe(0);
  });

  it('refuses a decision signed by another key, and one whose key id is trusted but signature is not', () => {
    const { g } = gate();
    expect(refused(g.admit(signDecision(decision(), otherKey), proposal))).toBe('DECISION_UNKNOWN_KEY');
    const forged: SignedDecision = { ...signDecision(decision(), otherKey), keyId: decisionKeyId(hubKey) };
    expect(refused(g.admit(forged, proposal))).toBe('DECISION_BAD_SIGNATURE');
    expect(g.usedCount()).toBe(0);
  });

  it('refuses malformed documents and signatures', () => {
    const { g } = gate();
    const signed = signDecision(decision(), hubKey);
    const cases: unknown[] = [
      null,
      'not json',
      {},
      { ...signed, extra: 1 },
      { ...signed, signature: 'bm90IGEgc2lnbmF0dXJl' },
      { ...signed, signature: 42 },
      { ...signed, decision: { ...signed.decision, id: 'not-a-uuid' } },
      { ...signed, decision: { ...signed.decision, outcome: 'maybe' } },
      { ...signed, decision: { ...signed.decision, expiresAtMs: T0 + 0.5 } },
      { ...signed, decision: { ...signed.decision, unsigned: 'field' } },
    ];
    for (const c of cases) expect(refused(g.admit(c, proposal))).toBe('DECISION_MALFORMED');
    const notJson = signedDecisionFromWire({ decisionJson: Buffer.from('{"id":'), signature: Buffer.alloc(64), keyId: signed.keyId });
    expect(notJson.ok === false && notJson.code).toBe('DECISION_MALFORMED');
    const notCanonical = signedDecisionFromWire({ decisionJson: Buffer.from(JSON.stringify(signed.decision, null, 1)), signature: Buffer.alloc(64), keyId: signed.keyId });
    expect(notCanonical.ok === false && notCanonical.code).toBe('DECISION_MALFORMED');
    expect(g.usedCount()).toBe(0);
  });

  it('admits a decision that went through the wire form', () => {
    const { g } = gate();
    const back = signedDecisionFromWire(signedDecisionToWire(signDecision(decision(), hubKey)));
    if (!back.ok) throw new Error(back.message);
    expect(g.admit(back.signed, proposal).status).toBe('admitted');
  });
});

describe('verifyDecision', () => {
  it('is pure: the same input gives the same answer, and the time is the caller\'s', () => {
    const signed = signDecision(decision(), hubKey);
    const expect1 = { trustedKeys, edgeId: 'edge-1', siteId: 'site-a', proposalHash: proposal.hash };
    expect(verifyDecision(signed, { ...expect1, nowMs: signed.decision.expiresAtMs - 1 }).ok).toBe(true);
    expect(verifyDecision(signed, { ...expect1, nowMs: signed.decision.expiresAtMs })).toMatchObject({ ok: false, code: 'DECISION_EXPIRED' });
  });

  it('refuses to sign an invalid decision', () => {
    expect(() => signDecision(decision({ expiresAtMs: T0 - 1 }), hubKey)).toThrow(TypeError);
  });
});
