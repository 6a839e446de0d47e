/**
 * Named safe fallbacks, derived: when an escalation times out with `then: fallback`, the policy's
 * fallback (carried in the verdict) becomes a proposal of its own, sealed like any other (own id,
 * own canonical hash) and linked to the proposal that timed out (`fallbackOf`). Pure: no clock,
 * no I/O, so a restart derives exactly the same proposal again.
 *
 * Input: the escalated proposal and its verdict. Output: a sealed fallback proposal with the
 * verdict it runs under (`auto`, flag FALLBACK), or `none` with the reason nothing is written:
 *  - hold-setpoint: nothing to write, the device keeps its setpoint (HOLD_SETPOINT);
 *  - a setpoint the action cannot be applied to (FALLBACK_UNSUPPORTED, e.g. a PV limit in %);
 *  - a verdict without the fallback's definition (FALLBACK_UNKNOWN, a journal from an older edge).
 * Never more power than the proposal: `zero` writes 0 kW, `cap` min(|setpoint|, maxKw) in the
 * proposal's direction. The interlocks are re-checked at the write like for any proposal.
 */
import type { NamedFallback, Verdict } from '../policy/index.js';
import { sealProposal } from './proposal.js';
import type { Proposal } from './types.js';

export const FALLBACK_CONTROLLER = 'fallback';

export type FallbackDerivation =
  | { kind: 'proposal'; proposal: Proposal; verdict: Verdict }
  | { kind: 'none'; code: 'HOLD_SETPOINT' | 'FALLBACK_UNSUPPORTED' | 'FALLBACK_UNKNOWN'; message: string };

const round3 = (v: number) => Math.round(v * 1000) / 1000;

/** The fallback of `p` under `verdict` (whose `fallback` the policy engine resolved). */
export function deriveFallback(p: Proposal, verdict: Verdict): FallbackDerivation {
  const f: NamedFallback | undefined = verdict.fallback;
  const name = verdict.onTimeout?.fallback ?? f?.name ?? '';
  if (f === undefined) return { kind: 'none', code: 'FALLBACK_UNKNOWN', message: `fallback '${name}' is not in the verdict of ${p.id}: nothing written` };
  if (f.action.kind === 'hold-setpoint') return { kind: 'none', code: 'HOLD_SETPOINT', message: `fallback ${f.name}: the device keeps its setpoint, nothing written (${f.description})` };
  if (p.setpoint.unit !== 'kW' || (p.action !== 'battery_discharge' && p.action !== 'battery_charge')) {
    return { kind: 'none', code: 'FALLBACK_UNSUPPORTED', message: `fallback ${f.name} (${f.action.kind}) applies to battery setpoints in kW, not ${p.action} in ${p.setpoint.unit}: nothing written` };
  }
  const proposedKw = Math.abs(p.setpoint.value);
  const kw = f.action.kind === 'zero' ? 0 : round3(Math.min(proposedKw, f.action.maxKw));
  const share = proposedKw > 0 ? kw / proposedKw : 0;
  const what = f.action.kind === 'zero' ? 'zero power' : `capped at ${f.action.maxKw} kW`;
  const proposal = sealProposal({
    controller: FALLBACK_CONTROLLER,
    edgeId: p.edgeId,
    siteId: p.siteId,
    assetId: p.assetId,
    action: p.action,
    magnitudeKw: kw,
    energyKwh: round3(p.energyKwh * share),
    intervalStartMs: p.intervalStartMs,
    intervalEndMs: p.intervalEndMs,
    setpoint: { ...p.setpoint, value: Math.sign(p.setpoint.value) * kw || 0 },
    reason: `fallback ${f.name} of ${p.id} (${p.magnitudeKw} kW, no decision in time): ${what}; ${f.description}`,
    forecast: p.forecast,
    measurement: p.measurement,
    ...(p.forecastBandWidth !== undefined && { forecastBandWidth: p.forecastBandWidth }),
    fallbackOf: { proposalId: p.id, proposalHash: p.hash, fallback: f.name },
  });
  return {
    kind: 'proposal',
    proposal,
    verdict: {
      outcome: 'auto',
      ruleId: verdict.ruleId,
      reasons: [`escalation ${p.id} under rule ${verdict.ruleId} got no decision in time: fallback ${f.name} runs (${what})`, f.description],
      approval: undefined,
      onTimeout: undefined,
      flags: [...verdict.flags.filter((x) => x !== 'FALLBACK'), 'FALLBACK'],
      policyId: verdict.policyId,
      policyVersion: verdict.policyVersion,
    },
  };
}

/** The reason an escalation that timed out into a fallback is expired with. */
export function fallbackReason(name: string, d: FallbackDerivation): string {
  return d.kind === 'proposal' ? `TIMEOUT_FALLBACK:${name} -> ${d.proposal.id}` : `TIMEOUT_FALLBACK:${name} (${d.code}: ${d.message})`;
}
