/**
 * A policy rule compiled for evaluation: fixed-shape objects with numeric bounds, a matcher for
 * its asset patterns and a week mask for its time windows, so judging a proposal is comparisons
 * and array lookups. A condition answers in three values: holds, fails, or unknown (a reading
 * the rule needs is missing); the engine decides what unknown means.
 */
import type { Outcome, PolicyApproval, PolicyOnTimeout, PolicyRange, PolicyRateLimits, PolicyRule } from '../../config/index.js';
import type { ActionType } from './types.js';
import { WeekMask } from './week-mask.js';

export const FAILS = 0;
export const HOLDS = 1;
export const UNKNOWN = 2;
export type Truth = typeof FAILS | typeof HOLDS | typeof UNKNOWN;

/** How restrictive an outcome is; the most restrictive match wins. */
export function rankOf(outcome: Outcome, approval: PolicyApproval | undefined): number {
  if (outcome === 'deny') return 3;
  if (outcome === 'escalate') return approval?.approvers === 2 ? 2 : 1;
  return 0;
}

export class Bound {
  readonly lo: number;
  readonly hi: number;
  readonly loInclusive: boolean;
  readonly hiInclusive: boolean;
  /** The bounds in words, e.g. "> 250 kW and <= 1000 kW". */
  readonly text: string;

  constructor(r: PolicyRange, unit: string) {
    this.lo = r.min ?? r.above ?? -Infinity;
    this.hi = r.max ?? r.below ?? Infinity;
    this.loInclusive = r.above === undefined;
    this.hiInclusive = r.below === undefined;
    const parts: string[] = [];
    if (this.lo !== -Infinity) parts.push(`${this.loInclusive ? '>=' : '>'} ${this.lo}${unit}`);
    if (this.hi !== Infinity) parts.push(`${this.hiInclusive ? '<=' : '<'} ${this.hi}${unit}`);
    this.text = parts.join(' and ');
  }

  /** A missing or unusable reading is unknown, never assumed. */
  test(v: number | undefined): Truth {
    if (v === undefined || v !== v) return UNKNOWN;
    const above = this.loInclusive ? v >= this.lo : v > this.lo;
    const below = this.hiInclusive ? v <= this.hi : v < this.hi;
    return above && below ? HOLDS : FAILS;
  }
}

const DAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const hhmm = (minute: number) => `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;

export class CompiledRule {
  readonly id: string;
  /** " (rule <id>)", the suffix of its reasons. */
  readonly tag: string;
  /** "<id> (<outcome>)" and the same when it could not be judged, for "also matched". */
  readonly label: string;
  readonly unjudgedLabel: string;
  readonly outcome: Outcome;
  readonly rank: number;
  readonly actions: readonly ActionType[];
  readonly approval: PolicyApproval | undefined;
  readonly onTimeout: PolicyOnTimeout | undefined;
  readonly rateLimits: PolicyRateLimits | undefined;
  readonly whenPolicyExpired: 'escalate' | 'deny';
  /** The hub user who last changed the rule, when the policy says. */
  readonly changedBy: string | undefined;
  readonly assetPatterns: readonly string[];
  readonly powerKw: Bound | null;
  readonly magnitudePct: Bound | null;
  readonly energyKwh: Bound | null;
  readonly voltagePu: Bound | null;
  readonly stateOfChargePct: Bound | null;
  /** Infinity when the rule has no forecast condition. */
  readonly maxForecastBandWidth: number;
  readonly hasForecastCondition: boolean;
  readonly week: WeekMask | null;
  /** The windows in words, e.g. "Mon-Fri 22:00-06:00; Sat, Sun 00:00-24:00". */
  readonly windowsText: string;
  private readonly matchesAsset: (assetId: string) => boolean;

  constructor(
    readonly index: number,
    rule: PolicyRule,
  ) {
    const w = rule.when;
    this.id = rule.id;
    this.tag = ` (rule ${rule.id})`;
    this.label = `${rule.id} (${rule.outcome})`;
    this.unjudgedLabel = `${rule.id} (${rule.outcome}, not judged: escalate)`;
    this.outcome = rule.outcome;
    this.rank = rankOf(rule.outcome, rule.approval);
    this.actions = rule.actions;
    this.approval = rule.approval;
    this.onTimeout = rule.onTimeout;
    this.rateLimits = rule.rateLimits;
    this.whenPolicyExpired = rule.whenPolicyExpired;
    this.changedBy = rule.changedBy;
    this.assetPatterns = rule.assets;
    this.powerKw = w.powerKw ? new Bound(w.powerKw, ' kW') : null;
    this.magnitudePct = w.magnitudePct ? new Bound(w.magnitudePct, ' %') : null;
    this.energyKwh = w.energyKwh ? new Bound(w.energyKwh, ' kWh') : null;
    this.voltagePu = w.voltagePu ? new Bound(w.voltagePu, ' pu') : null;
    this.stateOfChargePct = w.stateOfChargePct ? new Bound(w.stateOfChargePct, ' %') : null;
    this.hasForecastCondition = w.maxForecastBandWidth !== undefined;
    this.maxForecastBandWidth = w.maxForecastBandWidth ?? Infinity;
    this.week = w.timeWindows ? new WeekMask(w.timeWindows) : null;
    this.windowsText = (w.timeWindows ?? []).map((tw) => `${daysText(tw.days)} ${hhmm(tw.fromMinuteOfDay)}-${hhmm(tw.toMinuteOfDay)}`).join('; ');
    this.matchesAsset = assetMatcher(rule.assets);
  }

  appliesToAsset(assetId: string): boolean {
    return this.matchesAsset(assetId);
  }
}

function daysText(days: readonly number[]): string {
  if (days.length === 7) return 'daily';
  const consecutive = days.every((d, i) => i === 0 || d === days[i - 1]! + 1);
  return consecutive && days.length > 2 ? `${DAY_NAMES[days[0]!]}-${DAY_NAMES[days[days.length - 1]!]}` : days.map((d) => DAY_NAMES[d]).join(', ');
}

/** '*' is any run of characters, '?' one character; anything else is literal. */
export function assetMatcher(patterns: readonly string[]): (assetId: string) => boolean {
  if (patterns.includes('*')) return () => true;
  const exact = new Set(patterns.filter((p) => !/[*?]/.test(p)));
  const globs = patterns.filter((p) => /[*?]/.test(p)).map((p) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\-]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`));
  return (assetId) => exact.has(assetId) || globs.some((g) => g.test(assetId));
}

export { hhmm, DAY_NAMES };
