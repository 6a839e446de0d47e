/** Safe fallbacks derived from an escalation that timed out (edge/dispatch/fallback.ts): pure. */
import { describe, expect, it } from 'vitest';
import { deriveFallback, fallbackReason, proposalIntact, sealProposal, type Proposal } from '../../edge/dispatch/index.js';
import type { NamedFallback, Verdict } from '../../edge/policy/index.js';

const T0 = Date.parse('2026-03-02T10:00:00Z');

function proposal(setpointKw: number, over: Partial<Proposal> = {}): Proposal {
  return sealProposal({
    controller: 'peak-shaving', edgeId: 'e1', siteId: 's1', assetId: 'bess-01', action: setpointKw >= 0 ? 'battery_discharge' : 'battery_charge',
    magnitudeKw: Math.abs(setpointKw), energyKwh: Math.abs(setpointKw) / 4, intervalStartMs: T0, intervalEndMs: T0 + 900_000,
    setpoint: { point: 'bess1.power_setpoint_kw', value: setpointKw, unit: 'kW' }, reason: 'peak', forecast: null, measurement: null, ...over,
  });
}

function verdict(f: NamedFallback | undefined): Verdict {
  return {
    outcome: 'escalate', ruleId: 'bess-medium', reasons: ['big'], approval: { roles: ['operator'], approvers: 1 },
    onTimeout: { afterMs: 600_000, then: 'fallback', fallback: f?.name ?? 'gone' }, flags: ['HUB_UNREACHABLE'], policyId: 'p', policyVersion: 3,
    ...(f && { fallback: f }),
  };
}
const cap = (maxKw: number): NamedFallback => ({ name: 'cap', description: 'at most a little', action: { kind: 'cap', maxKw } });

describe('deriveFallback', () => {
  it('cap: the proposal with its power capped, linked to it, sealed with its own id and hash, running as auto', () => {
    const p = proposal(400);
    const d = deriveFallback(p, verdict(cap(150)));
    if (d.kind !== 'proposal') throw new Error(d.message);
    expect(d.proposal).toMatchObject({
      controller: 'fallback', assetId: 'bess-01', action: 'battery_discharge', magnitudeKw: 150, energyKwh: 37.5,
      intervalStartMs: p.intervalStartMs, intervalEndMs: p.intervalEndMs, setpoint: { point: 'bess1.power_setpoint_kw', value: 150, unit: 'kW' },
      fallbackOf: { proposalId: p.id, proposalHash: p.hash, fallback: 'cap' },
    });
    expect(d.proposal.reason).toContain(p.id);
    expect(proposalIntact(d.proposal)).toBe(true);
    expect(d.proposal.id).not.toBe(p.id);
    expect(d.verdict).toMatchObject({ outcome: 'auto', ruleId: 'bess-medium', flags: ['HUB_UNREACHABLE', 'FALLBACK'], policyId: 'p', policyVersion: 3, approval: undefined, onTimeout: undefined });
    expect(fallbackReason('cap', d)).toBe(`TIMEOUT_FALLBACK:cap -> ${d.proposal.id}`);
  });

  it('never more than the proposal, and in its direction (a charge stays a charge)', () => {
    for (const [kw, max, expected] of [[100, 150, 100], [-400, 150, -150], [-100, 150, -100], [400, 0, 0]] as const) {
      const d = deriveFallback(proposal(kw), verdict(cap(max)));
      if (d.kind !== 'proposal') throw new Error(d.message);
      expect(d.proposal.setpoint.value).toBe(expected);
      expect(Math.abs(d.proposal.setpoint.value)).toBeLessThanOrEqual(Math.abs(kw));
      expect(d.proposal.magnitudeKw).toBe(Math.abs(expected));
    }
  });

  it('zero: 0 kW, no energy', () => {
    const d = deriveFallback(proposal(-300), verdict({ name: 'idle', description: 'idle', action: { kind: 'zero' } }));
    if (d.kind !== 'proposal') throw new Error(d.message);
    expect(d.proposal).toMatchObject({ magnitudeKw: 0, energyKwh: 0, setpoint: { value: 0 } });
    expect(Object.is(d.proposal.setpoint.value, -0)).toBe(false);
  });

  it('deterministic: the same escalation derives the same fallback (a restart finds the journaled one)', () => {
    const p = proposal(400);
    const a = deriveFallback(p, verdict(cap(150)));
    const b = deriveFallback(structuredClone(p), structuredClone(verdict(cap(150))));
    expect(a).toEqual(b);
  });

  it('writes nothing, and says why: hold-setpoint, a PV limit in %, a verdict without the definition', () => {
    const hold = deriveFallback(proposal(400), verdict({ name: 'keep', description: 'leave it', action: { kind: 'hold-setpoint' } }));
    expect(hold).toMatchObject({ kind: 'none', code: 'HOLD_SETPOINT' });
    expect(fallbackReason('keep', hold)).toMatch(/^TIMEOUT_FALLBACK:keep \(HOLD_SETPOINT: /);
    const pv = proposal(0, { action: 'pv_curtailment', magnitudeKw: 200, magnitudePercent: 20, setpoint: { point: 'pv.limit_pct', value: 80, unit: '%' } });
    expect(deriveFallback(pv, verdict(cap(100)))).toMatchObject({ kind: 'none', code: 'FALLBACK_UNSUPPORTED' });
    expect(deriveFallback(proposal(400), verdict(undefined))).toMatchObject({ kind: 'none', code: 'FALLBACK_UNKNOWN' });
  });
});
