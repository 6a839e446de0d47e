/**
 * The policy benchmark's baseline: the same semantics as edge/policy/engine.ts, interpreted
 * straight from the zod-parsed document on every evaluation (glob patterns turned into regular
 * expressions, local time asked of Intl, bounds read from the document), as a first
 * implementation would. The benchmark also checks that both give the same verdicts.
 */
import type { Policy, PolicyRange, PolicyRule } from '../config/index.js';
import type { PolicyContext, ProposedAction } from '../edge/policy/index.js';

type Truth = 'holds' | 'fails' | 'unknown';
interface Naive {
  outcome: 'auto' | 'escalate' | 'deny';
  ruleId: string;
  reasons: string[];
}

function inRange(r: PolicyRange | undefined, v: number | undefined, unit: string, what: string, reasons: string[]): Truth {
  if (!r) return 'holds';
  if (v === undefined || Number.isNaN(v)) return 'unknown';
  const ok = (r.min === undefined || v >= r.min) && (r.above === undefined || v > r.above) && (r.max === undefined || v <= r.max) && (r.below === undefined || v < r.below);
  reasons.push(`${what} ${v}${unit} in ${JSON.stringify(r)}`);
  return ok ? 'holds' : 'fails';
}

function local(timeZone: string, ms: number): { offset: number; minuteOfWeek: number } {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', weekday: 'short' }).formatToParts(Math.floor(ms / 1000) * 1000);
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  const offset = Date.UTC(+p.year!, +p.month! - 1, +p.day!, +p.hour!, +p.minute!, +p.second!) - Math.floor(ms / 1000) * 1000;
  const day = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(p.weekday!);
  return { offset, minuteOfWeek: day * 1440 + +p.hour! * 60 + +p.minute! };
}

function open(rule: PolicyRule, minuteOfWeek: number): boolean {
  return (rule.when.timeWindows ?? []).some((w) =>
    w.days.some((d) => {
      const len = w.toMinuteOfDay > w.fromMinuteOfDay ? w.toMinuteOfDay - w.fromMinuteOfDay : 1440 - w.fromMinuteOfDay + w.toMinuteOfDay;
      const since = (minuteOfWeek - (d * 1440 + w.fromMinuteOfDay) + 10080) % 10080;
      return since < len;
    }),
  );
}

function judge(policy: Policy, rule: PolicyRule, a: ProposedAction, ctx: PolicyContext, energy: number | undefined, reasons: string[]): Truth {
  if (!rule.actions.includes(a.action)) return 'fails';
  if (!rule.assets.some((p) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\-]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(a.assetId))) return 'fails';
  const w = rule.when;
  const truths: Truth[] = [
    inRange(w.powerKw, a.magnitudeKw, ' kW', 'power', reasons),
    inRange(w.magnitudePct, a.magnitudePercent, ' %', 'percent', reasons),
    inRange(w.energyKwh, energy, ' kWh', 'energy', reasons),
    inRange(w.voltagePu, ctx.voltagePu, ' pu', 'voltage', reasons),
    inRange(w.stateOfChargePct, ctx.stateOfChargePct, ' %', 'state of charge', reasons),
    w.maxForecastBandWidth === undefined ? 'holds' : a.forecastBandWidth === undefined ? 'unknown' : a.forecastBandWidth <= w.maxForecastBandWidth ? 'holds' : 'fails',
  ];
  if (w.timeWindows) {
    const last = a.intervalEndMs > a.intervalStartMs ? a.intervalEndMs - 1 : a.intervalStartMs;
    const s = local(policy.timeZone, a.intervalStartMs);
    const e = local(policy.timeZone, last);
    if (s.offset !== e.offset) truths.push('unknown');
    else {
      const span = Math.floor((last + e.offset) / 60_000) - Math.floor((a.intervalStartMs + s.offset) / 60_000) + 1;
      const states = Array.from({ length: span }, (_, i) => open(rule, (s.minuteOfWeek + i) % 10080));
      truths.push((rule.outcome === 'auto' ? states.every(Boolean) : states.some(Boolean)) ? 'holds' : 'fails');
    }
  }
  return truths.includes('fails') ? 'fails' : truths.includes('unknown') ? 'unknown' : 'holds';
}

export function naiveEvaluate(policy: Policy, a: ProposedAction, ctx: PolicyContext): Naive {
  const reasons: string[] = [];
  if (!(a.intervalEndMs >= a.intervalStartMs)) return { outcome: 'deny', ruleId: 'invalid-proposal', reasons };
  const energy = a.energyKwh ?? (a.magnitudeKw !== undefined ? (a.magnitudeKw * (a.intervalEndMs - a.intervalStartMs)) / 3_600_000 : a.action === 'capacitor_switch' ? 0 : undefined);
  const rank = (o: string, approvers: number | undefined) => (o === 'deny' ? 3 : o === 'escalate' ? (approvers === 2 ? 2 : 1) : 0);
  let best: { rule: PolicyRule; rank: number; truth: Truth } | undefined;
  for (const rule of policy.rules) {
    const truth = judge(policy, rule, a, ctx, energy, reasons);
    if (truth === 'fails') continue;
    const r = truth === 'holds' || rule.outcome === 'escalate' ? rank(rule.outcome, rule.approval?.approvers) : rank('escalate', policy.defaults.approval.approvers);
    if (!best || r > best.rank) best = { rule, rank: r, truth };
  }
  let outcome: Naive['outcome'] = best ? (best.truth === 'unknown' ? 'escalate' : best.rule.outcome) : policy.defaults.outcome;
  if (outcome === 'auto') {
    for (const limits of [policy.rateLimits, best?.rule.rateLimits]) {
      if (!limits) continue;
      const over = (limits.maxPerHour !== undefined && ctx.autoCountLastHour + 1 > limits.maxPerHour) || (limits.maxEnergyKwhPerDay !== undefined && energy !== undefined && ctx.autoEnergyKwhToday + energy > limits.maxEnergyKwhPerDay);
      const unknown = limits.maxEnergyKwhPerDay !== undefined && energy === undefined;
      if (over && limits.whenExceeded === 'deny') outcome = 'deny';
      else if ((over || unknown) && outcome === 'auto') outcome = 'escalate';
    }
  }
  if (ctx.policyExpired || ctx.nowMs >= policy.validUntilMs || ctx.nowMs < policy.validFromMs) {
    if (outcome !== 'deny' && best?.rule.whenPolicyExpired === 'deny') outcome = 'deny';
    else if (outcome === 'auto') outcome = 'escalate';
    if (outcome === 'escalate' && !ctx.hubReachable) outcome = 'deny';
  }
  return { outcome, ruleId: best?.rule.id ?? 'default', reasons };
}
