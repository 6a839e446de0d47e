/**
 * The policy engine: `compilePolicy(policy)` returns a pure evaluator, (proposal, context) ->
 * verdict. No I/O and no clock: the time is `ctx.nowMs` and the action's own interval.
 *
 * Semantics, in order:
 * 1. A malformed proposal (interval not forward, negative or non-finite magnitudes, percent
 *    over 100, unknown action type) is denied (`invalid-proposal`).
 * 2. A rule matches when its action type, asset scope and every condition hold. Ranges are
 *    inclusive for `min`/`max`, exclusive for `above`/`below`. A time-window condition on an
 *    `auto` rule needs the whole interval [start, end) inside a window; on `escalate` and
 *    `deny` rules it holds as soon as the interval touches a window (so what a rule permits is
 *    read narrowly and what it restricts broadly).
 * 3. A condition whose reading is missing (no state of charge, voltage, forecast band, kW, or
 *    an interval crossing a daylight-saving change) is unknown. A rule that no known condition
 *    rules out but that has an unknown one cannot be judged: it counts as `escalate` (with its
 *    own approval if it has one, else the defaults'), never as `auto` nor as a guessed `deny`.
 * 4. Of all matches, the most restrictive wins: deny > escalate with two approvers > escalate >
 *    auto; between equals, the first in document order. Rule order never loosens a verdict.
 * 5. No match: `defaults.outcome` (escalate or deny; the schema forbids auto).
 * 6. An `auto` verdict must fit the rate limits (policy's and the rule's, against the edge's
 *    counters): past one it becomes `whenExceeded` (escalate by default); an energy the engine
 *    cannot know (no kWh and no kW) escalates.
 * 7. An expired policy (`ctx.policyExpired`, or `nowMs` outside validFrom..validUntil) executes
 *    nothing on its own: `auto` becomes `escalate`, or `deny` where the rule says
 *    `whenPolicyExpired: deny`; and with the hub unreachable (`ctx.hubReachable` false) every
 *    escalation is refused, since nobody could approve it.
 * Every verdict carries the deciding rule, reasons with units, and flags for what changed it; an
 * `escalate` one also who last changed that rule (`ruleChangedBy`, for the hub's approver check)
 * and, with `then: fallback`, the declared fallback itself (`fallback`, run by the dispatcher).
 */
import { ACTION_TYPES, type Policy } from '../../config/index.js';
import { CompiledRule, FAILS, HOLDS, UNKNOWN, rankOf, type Truth } from './rules.js';
import { conditionReasons, num, type LocalSpan } from './reasons.js';
import { minuteOfWeek, ZoneClock } from './week-mask.js';
import { PolicyEngineError, type ActionType, type Outcome, type PolicyContext, type PolicyEvaluator, type ProposedAction, type Verdict, type VerdictFlag } from './types.js';
import { checkRateLimits } from './rate-limits.js';

const ASSET_CACHE_LIMIT = 4096;

export function compilePolicy(policy: Policy): PolicyEvaluator {
  if ((policy.defaults.outcome as string) === 'auto') throw new PolicyEngineError('EDGE_POLICY_INVALID', `policy ${policy.id} v${policy.version}: defaults.outcome must be escalate or deny, never auto`);
  let clock: ZoneClock;
  try {
    clock = new ZoneClock(policy.timeZone);
  } catch {
    throw new PolicyEngineError('EDGE_POLICY_INVALID', `policy ${policy.id} v${policy.version}: unknown time zone '${policy.timeZone}'`);
  }
  const rules = policy.rules.map((r, i) => new CompiledRule(i, r));
  const byAction = new Map<string, CompiledRule[]>(ACTION_TYPES.map((t) => [t, rules.filter((r) => r.actions.includes(t))]));
  const { defaults } = policy;
  const unjudgedRank = rankOf('escalate', defaults.approval);
  const label = `policy ${policy.id} v${policy.version}`;
  const validFrom = new Date(policy.validFromMs).toISOString();
  const validUntil = new Date(policy.validUntilMs).toISOString();

  // Which rules cover an asset, per asset id: computed once per asset, not per proposal.
  const assetRules = new Map<string, Uint8Array>();
  const rulesOfAsset = (assetId: string): Uint8Array => {
    let m = assetRules.get(assetId);
    if (m === undefined) {
      m = Uint8Array.from(rules, (r) => (r.appliesToAsset(assetId) ? 1 : 0));
      if (assetRules.size >= ASSET_CACHE_LIMIT) assetRules.clear();
      assetRules.set(assetId, m);
    }
    return m;
  };
  // Losing matches of the current evaluation, for the reasons; evaluation is synchronous.
  const outranked = new Int32Array(rules.length);
  const outrankedTruth = new Uint8Array(rules.length);
  const time: LocalSpan = { known: false, firstMinuteOfWeek: 0, spanMinutes: 1, timeZone: policy.timeZone };
  // `time` belongs to the evaluation numbered `timeOf`: computed at most once per evaluation.
  let evaluation = 0;
  let timeOf = -1;

  const localSpan = (a: ProposedAction): void => {
    if (timeOf === evaluation) return;
    timeOf = evaluation;
    const start = a.intervalStartMs;
    const last = a.intervalEndMs > start ? a.intervalEndMs - 1 : start;
    const offset = clock.offsetMs(start);
    time.known = clock.offsetMs(last) === offset;
    time.firstMinuteOfWeek = minuteOfWeek(start + offset);
    time.spanMinutes = Math.floor((last + offset) / 60_000) - Math.floor((start + offset) / 60_000) + 1;
  };

  const judge = (r: CompiledRule, a: ProposedAction, ctx: PolicyContext, energyKwh: number | undefined): Truth => {
    let unknown = false;
    let t: Truth;
    if (r.powerKw !== null) {
      if ((t = r.powerKw.test(a.magnitudeKw)) === FAILS) return FAILS;
      unknown ||= t === UNKNOWN;
    }
    if (r.magnitudePct !== null) {
      if ((t = r.magnitudePct.test(a.magnitudePercent)) === FAILS) return FAILS;
      unknown ||= t === UNKNOWN;
    }
    if (r.energyKwh !== null) {
      if ((t = r.energyKwh.test(energyKwh)) === FAILS) return FAILS;
      unknown ||= t === UNKNOWN;
    }
    if (r.voltagePu !== null) {
      if ((t = r.voltagePu.test(ctx.voltagePu)) === FAILS) return FAILS;
      unknown ||= t === UNKNOWN;
    }
    if (r.stateOfChargePct !== null) {
      if ((t = r.stateOfChargePct.test(ctx.stateOfChargePct)) === FAILS) return FAILS;
      unknown ||= t === UNKNOWN;
    }
    if (r.hasForecastCondition) {
      const band = a.forecastBandWidth;
      if (band === undefined) unknown = true;
      else if (band > r.maxForecastBandWidth) return FAILS;
    }
    if (r.week !== null) {
      localSpan(a);
      if (!time.known) unknown = true;
      else if (!(r.outcome === 'auto' ? r.week.covers(time.firstMinuteOfWeek, time.spanMinutes) : r.week.touches(time.firstMinuteOfWeek, time.spanMinutes))) return FAILS;
    }
    return unknown ? UNKNOWN : HOLDS;
  };

  return function evaluate(a: ProposedAction, ctx: PolicyContext): Verdict {
    evaluation = (evaluation + 1) | 0;
    const candidates = byAction.get(a.action);
    const malformed = candidates === undefined ? `unknown action type '${String(a.action)}'` : malformedReason(a);
    if (malformed !== undefined) {
      return verdict('deny', 'invalid-proposal', [`proposal ${a.id} refused: ${malformed}`], undefined, undefined, ['INVALID_PROPOSAL']);
    }
    const energyKwh = energyOf(a);
    const covered = rulesOfAsset(a.assetId);
    let best: CompiledRule | null = null;
    let bestRank = -1;
    let bestTruth: Truth = FAILS;
    let matches = 0;
    for (let i = 0; i < candidates!.length; i++) {
      const r = candidates![i]!;
      if (covered[r.index] === 0) continue;
      const truth = judge(r, a, ctx, energyKwh);
      if (truth === FAILS) continue;
      const rank = truth === HOLDS ? r.rank : r.outcome === 'escalate' ? r.rank : unjudgedRank;
      outrankedTruth[matches] = truth;
      outranked[matches++] = r.index;
      if (rank > bestRank) {
        best = r;
        bestRank = rank;
        bestTruth = truth;
      }
    }

    const reasons: string[] = [];
    const flags: VerdictFlag[] = [];
    let outcome: Outcome = defaults.outcome;
    let approval = defaults.approval;
    let onTimeout = defaults.onTimeout;
    let ruleId = 'default';
    let changedBy = defaults.changedBy;
    if (best === null) {
      reasons.push(`no rule matched ${a.action} of ${a.assetId}: policy default ${defaults.outcome}`);
    } else {
      ruleId = best.id;
      changedBy = best.changedBy;
      if (bestTruth === UNKNOWN) {
        outcome = 'escalate';
        flags.push('CONTEXT_MISSING');
        reasons.push(`${a.action} of ${a.assetId}: rule ${best.id} (${best.outcome}) cannot be judged without the readings below, so escalate`);
      } else {
        outcome = best.outcome;
        reasons.push(`${a.action} of ${a.assetId} matches rule ${best.id}: ${best.outcome}`);
      }
      if (best.approval) approval = best.approval;
      if (best.onTimeout) onTimeout = best.onTimeout;
      if (best.week !== null) localSpan(a);
      conditionReasons(best, a, ctx, energyKwh, time, reasons);
      if (matches > 1) {
        let others = '';
        for (let k = 0; k < matches; k++) {
          const other = rules[outranked[k]!]!;
          if (other !== best) others += (others === '' ? '' : ', ') + (outrankedTruth[k] === UNKNOWN ? other.unjudgedLabel : other.label);
        }
        reasons.push('also matched, outranked by ' + best.id + ': ' + others);
      }
    }

    if (outcome === 'auto') {
      outcome = checkRateLimits(policy.rateLimits, best?.rateLimits, ruleId, ctx, energyKwh, reasons, flags);
    }

    const expiredBy = expiry(ctx.nowMs, ctx.policyExpired);
    if (expiredBy !== undefined) {
      flags.push('POLICY_EXPIRED');
      if (outcome !== 'deny' && best !== null && best.whenPolicyExpired === 'deny') {
        outcome = 'deny';
        reasons.push(`${expiredBy}: rule ${best.id} says refuse once the policy has expired`);
      } else if (outcome === 'auto') {
        outcome = 'escalate';
        reasons.push(`${expiredBy}: nothing runs on its own, escalate`);
      } else reasons.push(expiredBy);
      if (outcome === 'escalate' && !ctx.hubReachable) {
        outcome = 'deny';
        flags.push('HUB_UNREACHABLE');
        reasons.push('hub unreachable with an expired policy: nobody can approve, refused');
      }
    } else if (outcome === 'escalate' && !ctx.hubReachable) {
      flags.push('HUB_UNREACHABLE');
      reasons.push(`hub unreachable: the escalation waits for it (on timeout after ${num(onTimeout.afterMs / 60_000)} min: ${onTimeout.then})`);
    }
    if (outcome !== 'escalate') return verdict(outcome, ruleId, reasons, undefined, undefined, flags);
    const v = verdict(outcome, ruleId, reasons, approval, onTimeout, flags);
    // the schema checked that the name is declared; carried resolved, so the journal holds what runs
    const fallback = onTimeout.then === 'fallback' && onTimeout.fallback !== undefined ? policy.fallbacks[onTimeout.fallback] : undefined;
    if (fallback !== undefined) v.fallback = { name: onTimeout.fallback!, ...fallback };
    if (changedBy !== undefined) v.ruleChangedBy = changedBy;
    return v;
  };

  function verdict(outcome: Verdict['outcome'], ruleId: string, reasons: string[], approval: Verdict['approval'], onTimeout: Verdict['onTimeout'], flags: VerdictFlag[]): Verdict {
    return { outcome, ruleId, reasons, approval, onTimeout, flags, policyId: policy.id, policyVersion: policy.version };
  }

  function expiry(nowMs: number, reported: boolean): string | undefined {
    if (nowMs >= policy.validUntilMs) return `${label} expired at ${validUntil}`;
    if (nowMs < policy.validFromMs) return `${label} is not valid before ${validFrom}`;
    if (nowMs !== nowMs) return `${label}: no valid current time`;
    if (reported) return `${label} reported expired by the policy store`;
    return undefined;
  }
}

/** Energy of the action: as proposed, else kW over the interval; a capacitor switch moves none. */
function energyOf(a: ProposedAction): number | undefined {
  if (a.energyKwh !== undefined) return a.energyKwh;
  if (a.magnitudeKw !== undefined) return (a.magnitudeKw * (a.intervalEndMs - a.intervalStartMs)) / 3_600_000;
  return a.action === 'capacitor_switch' ? 0 : undefined;
}

const nonNegative = (v: number | undefined) => v === undefined || (v >= 0 && v < Infinity);

function malformedReason(a: ProposedAction): string | undefined {
  if (!(a.intervalStartMs > -Infinity && a.intervalEndMs < Infinity && a.intervalEndMs >= a.intervalStartMs)) return `interval ${a.intervalStartMs}..${a.intervalEndMs} ms is not a forward time range`;
  if (!nonNegative(a.magnitudeKw)) return `power ${a.magnitudeKw} kW is not a finite number >= 0`;
  if (!nonNegative(a.magnitudePercent) || a.magnitudePercent! > 100) return `percentage ${a.magnitudePercent} % is not within 0-100 %`;
  if (!nonNegative(a.energyKwh)) return `energy ${a.energyKwh} kWh is not a finite number >= 0`;
  if (!nonNegative(a.forecastBandWidth)) return `forecast band ${a.forecastBandWidth} is not a finite fraction >= 0`;
  return undefined;
}

export type { ActionType };
