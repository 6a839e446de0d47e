/**
 * The policy engine: a generated 50-rule policy (five action types, asset patterns, every kind
 * of condition, time windows in Europe/Berlin), 10,000 proposals and contexts drawn from a
 * seeded generator (some readings missing, some past the rate limits, some on an expired
 * policy, some across a daylight-saving change), evaluated by the compiled engine and by a
 * naive interpreter of the parsed document (policy-baseline.ts) in the same run. Inputs keep
 * one object shape (absent readings are `undefined` keys), as decoded proposals do; objects whose
 * keys come and go make V8 property access polymorphic and cost about 40 %.
 */
import { ACTION_TYPES, policySchema, validateConfig, type PolicyInput } from '../config/index.js';
import { compilePolicy, type PolicyContext, type ProposedAction } from '../edge/policy/index.js';
import { machine, opsPerSecond } from './machine.js';
import { naiveEvaluate } from './policy-baseline.js';

/** mulberry32: the same inputs on every run. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PREFIX = { battery_discharge: 'bess', battery_charge: 'bess', pv_curtailment: 'pv', load_shed: 'feeder', capacitor_switch: 'cap' } as const;

export function generatedPolicy(ruleCount = 50): PolicyInput {
  const rnd = random(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const rules: NonNullable<PolicyInput['rules']> = [];
  for (let i = 0; i < ruleCount; i++) {
    const action = ACTION_TYPES[i % ACTION_TYPES.length]!;
    // The first rule of each action type is the routine one: small actions run on their own.
    const routine = i < ACTION_TYPES.length;
    const outcome = routine ? 'auto' : pick(['auto', 'escalate', 'escalate', 'deny'] as const);
    const lo = routine ? 0 : Math.floor(rnd() * 8) * 100;
    const when: Record<string, unknown> = { power: { [rnd() < 0.5 ? 'min' : 'above']: `${lo} kW`, max: `${lo + 100 + Math.floor(rnd() * 400)} kW` } };
    if (action.startsWith('battery')) when.stateOfCharge = { min: `${Math.floor(rnd() * 30)} %`, max: `${70 + Math.floor(rnd() * 30)} %` };
    if (action === 'pv_curtailment') Object.assign(when, { percent: { max: 10 + Math.floor(rnd() * 60) }, voltage: { above: 1.02 + rnd() * 0.05 } });
    if (action === 'capacitor_switch') when.voltage = { min: 0.9, below: 0.97 + rnd() * 0.05 };
    if (rnd() < 0.5) when.maxForecastBandWidth = +(0.1 + rnd() * 0.3).toFixed(2);
    if (rnd() < 0.4) {
      const from = Math.floor(rnd() * 24);
      when.timeWindows = [{ days: rnd() < 0.5 ? ['mon', 'tue', 'wed', 'thu', 'fri'] : ['sat', 'sun'], from: `${String(from).padStart(2, '0')}:00`, to: `${String((from + 4 + Math.floor(rnd() * 12)) % 24).padStart(2, '0')}:30` }];
    }
    const assets = routine || rnd() < 0.2 ? '*' : rnd() < 0.5 ? [`${PREFIX[action]}-0*`] : [`${PREFIX[action]}-1?`, `${PREFIX[action]}-07`];
    const escalation = outcome === 'escalate' ? { approval: { roles: ['operator'], approvers: rnd() < 0.3 ? 2 : 1 }, onTimeout: { after: '10 min', then: 'refuse' } } : {};
    rules.push({ id: `r${String(i).padStart(2, '0')}-${action}`, action, assets, when, outcome, ...escalation, ...(outcome === 'auto' && rnd() < 0.2 ? { rateLimits: { maxPerHour: 6 } } : {}) } as NonNullable<PolicyInput['rules']>[number]);
  }
  return {
    id: 'bench',
    version: 1,
    validFrom: '2026-01-01T00:00:00Z',
    validUntil: '2026-06-01T00:00:00Z',
    timeZone: 'Europe/Berlin',
    defaults: { outcome: 'escalate', approval: { roles: ['operator'], approvers: 1 }, onTimeout: { after: '15 min', then: 'refuse' } },
    rateLimits: { maxPerHour: 20, maxEnergyPerDay: '5 MWh' },
    rules,
  };
}

export function generatedInputs(count = 10_000): { action: ProposedAction; ctx: PolicyContext }[] {
  const rnd = random(11);
  const start = Date.parse('2026-03-20T00:00:00Z'); // spans the 29 March daylight-saving change
  const out: { action: ProposedAction; ctx: PolicyContext }[] = [];
  for (let i = 0; i < count; i++) {
    const action = ACTION_TYPES[Math.floor(rnd() * ACTION_TYPES.length)]!;
    const t = start + Math.floor(rnd() * 20 * 96) * 900_000;
    const a: ProposedAction = {
      id: `p${i}`,
      edgeId: 'edge-1',
      siteId: 'site-1',
      assetId: `${PREFIX[action]}-${String(Math.floor(rnd() * 20)).padStart(2, '0')}`,
      action,
      magnitudeKw: Math.round(rnd() < 0.6 ? rnd() * 150 : rnd() * 1200),
      // Every key present, as a decoder or a controller builds them: absent readings are undefined.
      magnitudePercent: action === 'pv_curtailment' || action === 'load_shed' ? Math.round(rnd() * 80) : undefined,
      energyKwh: undefined,
      intervalStartMs: t,
      intervalEndMs: t + (rnd() < 0.7 ? 900_000 : 3_600_000),
      forecastBandWidth: rnd() < 0.9 ? +(rnd() * 0.5).toFixed(3) : undefined,
    };
    const ctx: PolicyContext = {
      nowMs: t - 60_000,
      voltagePu: rnd() < 0.95 ? +(0.92 + rnd() * 0.16).toFixed(3) : undefined,
      stateOfChargePct: rnd() < 0.95 ? Math.round(rnd() * 100) : undefined,
      policyExpired: rnd() < 0.03,
      hubReachable: rnd() < 0.9,
      autoCountLastHour: Math.floor(rnd() * 22),
      autoEnergyKwhToday: Math.round(rnd() * 5200),
    };
    out.push({ action: a, ctx });
  }
  return out;
}

export function benchPolicy() {
  const policy = validateConfig(policySchema, generatedPolicy() as Record<string, unknown>, '(generated)', { env: {} });
  const inputs = generatedInputs();
  const evaluate = compilePolicy(policy);
  const outcomes = { auto: 0, escalate: 0, deny: 0 };
  let agree = 0;
  for (const { action, ctx } of inputs) {
    const v = evaluate(action, ctx);
    const n = naiveEvaluate(policy, action, ctx);
    outcomes[v.outcome]++;
    if (v.outcome === n.outcome && v.ruleId === n.ruleId) agree++;
  }
  const BATCH = 1000;
  let next = 0;
  let sink = 0;
  const engineBatches = opsPerSecond(() => {
    for (let k = 0; k < BATCH; k++) {
      const { action, ctx } = inputs[next]!;
      next = next + 1 === inputs.length ? 0 : next + 1;
      sink += evaluate(action, ctx).reasons.length;
    }
  }, 3000);
  const baselineBatches = opsPerSecond(() => {
    for (let k = 0; k < 10; k++) {
      const { action, ctx } = inputs[next]!;
      next = next + 1 === inputs.length ? 0 : next + 1;
      sink += naiveEvaluate(policy, action, ctx).reasons.length;
    }
  }, 1500);
  const evaluationsPerSec = Math.round(engineBatches * BATCH);
  const baselineEvaluationsPerSec = Math.round(baselineBatches * 10);
  return {
    bench: 'policy',
    machine: machine(),
    inputs: { rules: policy.rules.length, proposals: inputs.length, timeZone: policy.timeZone, outcomes, verdictsAgreeingWithBaseline: agree, checksum: sink > 0 },
    figures: { evaluationsPerSec, baselineEvaluationsPerSec, ratio: +(evaluationsPerSec / baselineEvaluationsPerSec).toFixed(1), nsPerEvaluation: +(1e9 / evaluationsPerSec).toFixed(0), target: 1_000_000 },
  };
}
