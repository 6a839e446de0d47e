/**
 * The dispatch policy: which proposed actions an edge executes on its own (`auto`), escalates to
 * the hub for a human's approval (`escalate`), or refuses (`deny`). This file is the schema of
 * the YAML document a utility engineer writes (see policy.example.yaml) and of the frozen,
 * compiled form the engine (edge/policy) runs on: human units become numbers with the unit in
 * the key (`power: { max: 250 kW }` -> `powerKw: { max: 250 }`, `after: 15 min` -> `afterMs`).
 *
 * Reject, don't repair: a policy decides what a machine does to a grid, so anything ambiguous
 * (an escalation without approvers, a fallback nobody declared, an inverted range, `auto` as
 * the default) is an error naming its key, never a guess.
 */
import { z } from 'zod';
import { duration, energyKwh, id, percent, perUnit, powerKw } from './units.js';

export const ACTION_TYPES = ['battery_discharge', 'battery_charge', 'pv_curtailment', 'load_shed', 'capacitor_switch'] as const;
export type ActionType = (typeof ACTION_TYPES)[number];
export type Outcome = 'auto' | 'escalate' | 'deny';

/** Monday first, as grid operators read a week; index = day number in the compiled form. */
export const DAYS_OF_WEEK = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/**
 * A range on one measured quantity: `min`/`max` include the bound, `above`/`below` exclude it,
 * so neighbouring rules can split at a value without overlapping (`max: 250` / `above: 250`).
 */
function range(value: z.ZodType<number, string | number>, lowest: number, highest = Infinity) {
  const bound = value.pipe(z.number().min(lowest).max(highest));
  return z
    .strictObject({ min: bound.optional(), max: bound.optional(), above: bound.optional(), below: bound.optional() })
    .superRefine((r, ctx) => {
      const problem = (key: string, message: string) => ctx.addIssue({ code: 'custom', path: [key], message });
      if (r.min === undefined && r.max === undefined && r.above === undefined && r.below === undefined) problem('min', 'expected at least one bound: min, max, above or below');
      if (r.min !== undefined && r.above !== undefined) problem('above', 'expected either min (inclusive) or above (exclusive), not both');
      if (r.max !== undefined && r.below !== undefined) problem('below', 'expected either max (inclusive) or below (exclusive), not both');
      const lo = r.min ?? r.above;
      const hi = r.max ?? r.below;
      const inclusive = r.min !== undefined && r.max !== undefined;
      if (lo !== undefined && hi !== undefined && (inclusive ? hi < lo : hi <= lo)) {
        problem(r.max !== undefined ? 'max' : 'below', `expected an upper bound above the lower bound (${lo}), or the range is empty`);
      }
    });
}
export type PolicyRange = { min?: number; max?: number; above?: number; below?: number };

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, { message: 'a local time "HH:MM" from "00:00" to "24:00"' });
const minuteOfDay = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** A weekly local-time window; `to` before `from` runs past midnight into the next day. */
const timeWindow = z
  .strictObject({
    /** Days the window starts on; every day when omitted. */
    days: z.array(z.enum(DAYS_OF_WEEK)).min(1).default([...DAYS_OF_WEEK]),
    /** Inclusive start, "00:00" to "23:59". */
    from: clock.refine((t) => t !== '24:00', { message: 'expected a start time from "00:00" to "23:59"' }),
    /** Exclusive end; "24:00" is midnight at the end of the day. */
    to: clock,
  })
  .superRefine((w, ctx) => {
    if (minuteOfDay(w.from) === minuteOfDay(w.to)) ctx.addIssue({ code: 'custom', path: ['to'], message: `expected a time other than from (${w.from}); a whole day is "00:00" to "24:00"` });
  })
  .transform((w) => ({ days: [...new Set(w.days.map((d) => DAYS_OF_WEEK.indexOf(d)))].sort(), fromMinuteOfDay: minuteOfDay(w.from), toMinuteOfDay: minuteOfDay(w.to) }));
export type PolicyTimeWindow = z.output<typeof timeWindow>;

const conditions = z
  .strictObject({
    /** The proposal's `magnitudeKw`. */
    power: range(powerKw, 0).optional(),
    /** The proposal's `magnitudePercent` (of PV output curtailed, of feeder load shed, ...). */
    percent: range(percent, 0, 100).optional(),
    /** The proposal's `energyKwh` over its interval. */
    energy: range(energyKwh, 0).optional(),
    /** Widest forecast confidence band accepted, as a fraction of the forecast (0.2 = +-10 %). */
    maxForecastBandWidth: z.number().min(0).optional(),
    /** Measured voltage at the asset's bus, per unit of nominal. */
    voltage: range(perUnit, 0).optional(),
    /** The battery's measured state of charge. */
    stateOfCharge: range(percent, 0, 100).optional(),
    /** The action's whole interval must lie in one of these windows (local time, policy's timeZone). */
    timeWindows: z.array(timeWindow).min(1).optional(),
  })
  .transform(({ power, percent: pct, energy, voltage, stateOfCharge, ...rest }) => ({
    ...rest,
    ...(power && { powerKw: power }),
    ...(pct && { magnitudePct: pct }),
    ...(energy && { energyKwh: energy }),
    ...(voltage && { voltagePu: voltage }),
    ...(stateOfCharge && { stateOfChargePct: stateOfCharge }),
  }));
export type PolicyConditions = {
  powerKw?: PolicyRange;
  magnitudePct?: PolicyRange;
  energyKwh?: PolicyRange;
  maxForecastBandWidth?: number;
  voltagePu?: PolicyRange;
  stateOfChargePct?: PolicyRange;
  timeWindows?: PolicyTimeWindow[];
};

const approval = z.strictObject({
  /** Hub roles whose members may approve. */
  roles: z.array(id).min(1),
  /** Distinct people who must approve: 2 is the two-person rule. */
  approvers: z.union([z.literal(1), z.literal(2)]).default(1),
});

/** What the edge does when nobody decided an escalation in time. */
const onTimeout = z
  .strictObject({ after: duration, then: z.enum(['hold', 'refuse', 'fallback']), fallback: id.optional() })
  .superRefine((t, ctx) => {
    if (t.after < 1000) ctx.addIssue({ code: 'custom', path: ['after'], message: 'expected at least 1s: nobody decides faster' });
    if (t.then === 'fallback' && t.fallback === undefined) ctx.addIssue({ code: 'custom', path: ['fallback'], message: 'expected the name of a fallback declared under fallbacks when then is fallback' });
    if (t.then !== 'fallback' && t.fallback !== undefined) ctx.addIssue({ code: 'custom', path: ['fallback'], message: `expected no fallback when then is ${t.then}` });
  })
  .transform(({ after, ...rest }) => ({ afterMs: after, ...rest }));

/** Limits on what the edge does on its own, counted across all its autonomous actions. */
const rateLimits = z
  .strictObject({
    maxPerHour: z.number().int().min(0).optional(),
    maxEnergyPerDay: energyKwh.pipe(z.number().min(0)).optional(),
    /** What an `auto` verdict becomes past a limit. */
    whenExceeded: z.enum(['escalate', 'deny']).default('escalate'),
  })
  .transform(({ maxEnergyPerDay, ...rest }) => ({ ...rest, ...(maxEnergyPerDay !== undefined && { maxEnergyKwhPerDay: maxEnergyPerDay }) }));

/**
 * What a named safe fallback does when an escalation times out with `then: fallback`. Each is
 * derived from the escalated proposal and never moves more power than it (edge/dispatch/fallback.ts):
 *  - `hold-setpoint`: write nothing; the device keeps the setpoint it has;
 *  - `zero`: the asset moves no power for this action (battery setpoint 0 kW);
 *  - `cap`: the proposal, its power capped at `maxKw` (direction kept; a smaller proposal as is).
 * `zero` and `cap` write kW setpoints only (battery charge/discharge); for another setpoint (a PV
 * output limit in %) the edge writes nothing and says why. Interlocks apply as to any write.
 */
const fallbackAction = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('hold-setpoint') }),
    z.strictObject({ kind: z.literal('zero') }),
    z.strictObject({ kind: z.literal('cap'), maxKw: powerKw.pipe(z.number().min(0)) }),
  ],
  { message: 'one of { kind: hold-setpoint }, { kind: zero } or { kind: cap, maxKw }' },
);

const fallback = z.strictObject({
  /** What it does, in words an auditor reads. */
  description: z.string().min(1),
  action: fallbackAction,
});

/** Who last changed a rule: a hub user name. That person may not approve the rule's escalations. */
const changedBy = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/, { message: "a hub user name (1-64 letters, digits, '_', '.', '@', '-'), as `gridos hub user add` accepts" });

const assetPattern = z.string().regex(/^[A-Za-z0-9_.*?-]{1,64}$/, { message: "an asset id or pattern ('*' any characters, '?' one), such as bess-01 or bess-*" });

const rule = z
  .strictObject({
    id,
    description: z.string().default(''),
    /** One action type or a list. */
    action: z.union([z.enum(ACTION_TYPES), z.array(z.enum(ACTION_TYPES)).min(1)], { message: `one of ${ACTION_TYPES.join(', ')}, or a list of them` }),
    /** Asset ids or patterns the rule applies to; "*" for every asset. */
    assets: z.union([assetPattern, z.array(assetPattern).min(1)]),
    /** All conditions must hold; none means the rule holds for every such action. */
    when: conditions.default({}),
    outcome: z.enum(['auto', 'escalate', 'deny']),
    approval: approval.optional(),
    onTimeout: onTimeout.optional(),
    /** Tighter limits for this rule's autonomous actions (the policy's apply too). */
    rateLimits: rateLimits.optional(),
    /** Once the policy has expired nothing runs on its own: escalate (the default) or refuse. */
    whenPolicyExpired: z.enum(['escalate', 'deny']).default('escalate'),
    /** The hub user who last changed this rule; excluded from approving its escalations. */
    changedBy: changedBy.optional(),
  })
  .superRefine((r, ctx) => {
    const problem = (key: string, message: string) => ctx.addIssue({ code: 'custom', path: [key], message });
    if (r.outcome === 'escalate' && !r.approval) problem('approval', 'expected approval { roles, approvers } for an escalate rule: who may approve');
    if (r.outcome !== 'escalate' && r.approval) problem('approval', `expected no approval for a ${r.outcome} rule`);
    if (r.outcome !== 'escalate' && r.onTimeout) problem('onTimeout', `expected no onTimeout for a ${r.outcome} rule`);
    if (r.outcome !== 'auto' && r.rateLimits) problem('rateLimits', `expected rate limits only on auto rules, not on a ${r.outcome} rule`);
  })
  .transform(({ action, assets, ...rest }) => ({ ...rest, actions: [...new Set(Array.isArray(action) ? action : [action])], assets: Array.isArray(assets) ? assets : [assets] }));

const timestamp = z.iso.datetime({ offset: true, message: 'an ISO 8601 timestamp with its offset, such as "2026-01-01T00:00:00Z"' });

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export const policySchema = z
  .strictObject({
    id,
    /** Raised with every change; an edge refuses a policy older than the one it holds. */
    version: z.number().int().min(1),
    description: z.string().default(''),
    validFrom: timestamp,
    validUntil: timestamp,
    /** IANA zone of the time windows, e.g. Europe/Berlin: the substation's local time. */
    timeZone: z.string().refine(isTimeZone, { message: 'expected an IANA time zone such as "Europe/Berlin" or "UTC"' }),
    /** When no rule matches. Never auto: what nobody wrote down, no machine does alone. */
    defaults: z.strictObject({
      outcome: z.enum(['escalate', 'deny']),
      /** Who approves escalations without a rule's own approval (no rule matched, expired policy, rate limit). */
      approval,
      onTimeout,
      /** The hub user who last changed the defaults; excluded from approving escalations no rule matched. */
      changedBy: changedBy.optional(),
    }),
    rateLimits: rateLimits.optional(),
    /** Named safe fallbacks an onTimeout may choose: what each does, as data the dispatcher runs. */
    fallbacks: z.record(id, fallback).default({}),
    rules: z.array(rule).default([]),
  })
  .superRefine((p, ctx) => {
    const problem = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (Date.parse(p.validUntil) <= Date.parse(p.validFrom)) problem(['validUntil'], `expected a time after validFrom (${p.validFrom})`);
    const declared = (path: (string | number)[], fallback: string | undefined) => {
      if (fallback !== undefined && !(fallback in p.fallbacks)) problem(path, `fallback '${fallback}' is not declared under fallbacks (declared: ${Object.keys(p.fallbacks).join(', ') || 'none'})`);
    };
    declared(['defaults', 'onTimeout', 'fallback'], p.defaults.onTimeout.fallback);
    const seen = new Map<string, number>();
    p.rules.forEach((r, i) => {
      const first = seen.get(r.id);
      if (first !== undefined) problem(['rules', i, 'id'], `rule id '${r.id}' is already used at rules.${first}`);
      else seen.set(r.id, i);
      declared(['rules', i, 'onTimeout', 'fallback'], r.onTimeout?.fallback);
    });
  })
  .transform(({ validFrom, validUntil, ...rest }) => ({ ...rest, validFromMs: Date.parse(validFrom), validUntilMs: Date.parse(validUntil) }));

/** What the engine runs on: frozen, units in the key names. */
export type Policy = z.output<typeof policySchema>;
/** What a policy file holds, before compilation. */
export type PolicyInput = z.input<typeof policySchema>;
export type PolicyRule = Policy['rules'][number];
export type PolicyApproval = z.output<typeof approval>;
export type PolicyOnTimeout = z.output<typeof onTimeout>;
export type PolicyRateLimits = z.output<typeof rateLimits>;
export type PolicyFallback = z.output<typeof fallback>;
export type FallbackAction = z.output<typeof fallbackAction>;
