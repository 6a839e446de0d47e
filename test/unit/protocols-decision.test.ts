/** Escalation (edge -> hub) and SignedDecision (hub -> edge) envelopes: round trips, typed refusals, topics. */
import { createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  commandTopic,
  decisionKeyId,
  decodeEnvelope,
  encodeEnvelope,
  envelope,
  parseTopic,
  sha256Hex,
  signDecision,
  signedDecisionFromWire,
  signedDecisionToWire,
  uplinkTopic,
  verifyDecision,
  type Envelope,
  type Escalation,
} from '../../protocols/index.js';
import { EnvelopeType } from '../../protocols/schema.js';

const base = { edgeId: 'edge-1', siteId: 'site.A', sentAtMs: 1_780_000_000_123 };
const key = generateKeyPairSync('ed25519').privateKey;

function roundTrip(env: Envelope): Envelope {
  const decoded = decodeEnvelope(encodeEnvelope(env));
  if (!decoded.ok) throw decoded.error;
  return decoded.value;
}

function escalation(over: Partial<Escalation> = {}): Escalation {
  const proposalJson = Buffer.from('{"action":"battery_discharge","magnitudeKw":420.5}', 'utf8');
  return {
    proposalJson,
    proposalHash: sha256Hex(proposalJson),
    proposalId: 'peak-shaving-0123456789abcdef',
    verdict: { outcome: 'escalate', ruleId: 'large-discharge', reasons: ['420.5 kW exceeds the 300 kW autonomous limit'], policyId: 'north-feeders', policyVersion: 7, flags: ['HUB_UNREACHABLE'] },
    escalatedAtMs: 1_780_000_000_000,
    deadlineMs: 1_780_000_900_000,
    ...over,
  };
}

const signed = signDecision(
  {
    id: randomUUID(),
    edgeId: 'edge-1',
    siteId: 'site.A',
    proposalId: 'peak-shaving-0123456789abcdef',
    proposalHash: 'c'.repeat(64),
    outcome: 'approve',
    approvers: ['operator:ana', 'operator:ben'],
    issuedAtMs: 1_780_000_000_000,
    expiresAtMs: 1_780_000_600_000,
  },
  key,
);

describe('escalation envelope', () => {
  it('round-trips the proposal bytes, hash, id and verdict summary exactly', () => {
    const env = envelope({ ...base, seq: 7, payload: { kind: 'escalation', escalation: escalation() } });
    const back = roundTrip(env);
    expect(back.payload.kind === 'escalation' && Buffer.from(back.payload.escalation.proposalJson).equals(Buffer.from(escalation().proposalJson))).toBe(true);
    expect(back).toEqual({ ...env, payload: { kind: 'escalation', escalation: { ...escalation(), proposalJson: expect.any(Uint8Array) } } });
  });

  it('carries who may approve and who last changed the rule (absent stays absent)', () => {
    const verdict = { ...escalation().verdict, approvalRoles: ['supervisor'], approversRequired: 2, ruleChangedBy: 'ana maria' };
    const back = roundTrip(envelope({ ...base, seq: 8, payload: { kind: 'escalation', escalation: escalation({ verdict }) } }));
    expect(back.payload.kind === 'escalation' && back.payload.escalation.verdict).toEqual(verdict);
    const plain = roundTrip(envelope({ ...base, seq: 9, payload: { kind: 'escalation', escalation: escalation() } }));
    expect(plain.payload.kind === 'escalation' && plain.payload.escalation.verdict).not.toHaveProperty('ruleChangedBy');
  });

  it('refuses an escalation whose hash is not the sha256 of its proposal bytes, or that carries none', () => {
    for (const bad of [escalation({ proposalHash: 'd'.repeat(64) }), escalation({ proposalJson: new Uint8Array(), proposalHash: sha256Hex(new Uint8Array()) })]) {
      const r = decodeEnvelope(encodeEnvelope(envelope({ ...base, seq: 1, payload: { kind: 'escalation', escalation: bad } })));
      expect(!r.ok && r.error.code).toBe('PROTO_INVALID_FIELD');
    }
  });
});

describe('signed decision envelope', () => {
  it('round-trips, and the decoded decision still verifies', () => {
    const env = envelope({ ...base, seq: 0, payload: { kind: 'decision', decision: signedDecisionToWire(signed) } });
    const back = roundTrip(env);
    if (back.payload.kind !== 'decision') throw new Error('expected a decision');
    expect(back.payload.decision.keyId).toBe(decisionKeyId(key));
    const doc = signedDecisionFromWire(back.payload.decision);
    if (!doc.ok) throw new Error(doc.message);
    expect(doc.signed).toEqual(signed);
    const v = verifyDecision(doc.signed, { trustedKeys: new Map([[decisionKeyId(key), createPublicKey(key)]]), edgeId: 'edge-1', siteId: 'site.A', proposalHash: 'c'.repeat(64), nowMs: 1_780_000_000_001 });
    expect(v.ok).toBe(true);
  });

  it('refuses a decision with a truncated signature, no key id, or no decision bytes', () => {
    const wire = signedDecisionToWire(signed);
    const bad = [
      { ...wire, signature: wire.signature.subarray(0, 63) },
      { ...wire, keyId: '' },
      { ...wire, decisionJson: new Uint8Array() },
    ];
    for (const decision of bad) {
      const bytes = EnvelopeType.encode(EnvelopeType.fromObject({ schemaVersion: 1, edgeId: 'edge-1', siteId: 'site.A', seq: 0, sentAtMs: 1, decision })).finish();
      const r = decodeEnvelope(bytes);
      expect(!r.ok && r.error.code).toBe('PROTO_INVALID_FIELD');
    }
  });
});

describe('decision topics', () => {
  it('escalations go up on .../escalation, decisions come down on .../cmd/decision', () => {
    expect(uplinkTopic('site.A', 'edge-1', 'escalation')).toBe('gridos/v1/site.A/edge-1/escalation');
    expect(commandTopic('site.A', 'edge-1', 'decision')).toBe('gridos/v1/site.A/edge-1/cmd/decision');
    expect(parseTopic('gridos/v1/site.A/edge-1/escalation')).toEqual({ direction: 'uplink', siteId: 'site.A', edgeId: 'edge-1', kind: 'escalation' });
    expect(parseTopic('gridos/v1/site.A/edge-1/cmd/decision')).toEqual({ direction: 'command', siteId: 'site.A', edgeId: 'edge-1', kind: 'decision' });
  });
});
