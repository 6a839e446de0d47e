/**
 * The backtest on an edge's own store: the dispatch loop's recorded process images
 * (cycle-log.ts) replayed through the same peak-shaving controller and a policy, with the loop's
 * rules: one proposal per controller interval (the first cycle that proposes for it wins), the
 * rate-limit counters from the autonomous actions already taken (in the last hour; since the UTC
 * day began), the policy judged at the cycle's time. Pure: the caller reads the cycles and the
 * policy. With the policy that ran live, every proposal, its id (content hash) and its outcome
 * are the loop's; with another policy, what that one would have decided on the same day.
 *
 * Assumption, stated: an `auto` proposal counts towards the rate limits from its cycle on (live,
 * from when its execution started, a moment later; an execution refused by an interlock still
 * counts, as in the loop).
 */
import type { Policy } from '../../config/index.js';
import { compilePolicy, type Outcome, type PolicyContext } from '../policy/index.js';
import type { RecordedCycle } from './cycle-log.js';
import { peakShavingController } from './controllers/peak-shaving.js';
import { toProposedAction } from './proposal.js';
import type { OutcomeTally } from './backtest.js';

export interface ReplayedProposal {
  id: string;
  hash: string;
  cycleMs: number;
  intervalStartMs: number;
  action: string;
  magnitudeKw: number;
  energyKwh: number;
  outcome: Outcome;
  ruleId: string;
}

export interface StoreBacktestDay {
  date: string;
  cycles: number;
  proposals: number;
  auto: OutcomeTally;
  escalate: OutcomeTally;
  deny: OutcomeTally;
}

export interface StoreBacktestReport {
  policy: { id: string; version: number };
  /** The policies the loop ran live over these cycles (`id vN`, or `none`). */
  livePolicies: string[];
  proposals: ReplayedProposal[];
  days: StoreBacktestDay[];
  total: Omit<StoreBacktestDay, 'date'> & { days: number };
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const round3 = (v: number) => Math.round(v * 1000) / 1000;
const tally = (): OutcomeTally => ({ count: 0, kwh: 0 });
const emptyDay = (date: string): StoreBacktestDay => ({ date, cycles: 0, proposals: 0, auto: tally(), escalate: tally(), deny: tally() });

export function replayRecordedCycles(cycles: readonly RecordedCycle[], policy: Policy): StoreBacktestReport {
  const evaluate = compilePolicy(policy);
  const controllers = new Map<string, ReturnType<typeof peakShavingController>>();
  const held = new Set<string>();
  const autos: { atMs: number; kwh: number }[] = [];
  const proposals: ReplayedProposal[] = [];
  const days = new Map<string, StoreBacktestDay>();
  const live = new Set<string>();

  for (const c of cycles) {
    live.add(c.policy ? `${c.policy.id} v${c.policy.version}` : 'none');
    const key = JSON.stringify(c.controller);
    let control = controllers.get(key);
    if (!control) controllers.set(key, (control = peakShavingController(c.controller)));
    const date = new Date(c.nowMs).toISOString().slice(0, 10);
    const day = days.get(date) ?? emptyDay(date);
    days.set(date, day);
    day.cycles++;
    const result = control({ nowMs: c.nowMs, socPct: c.socPct ?? undefined, forecast: c.forecast ?? undefined, ...(c.feederKw !== null && { measuredLoadKw: c.feederKw }) });
    const fresh = result.proposals.filter((p) => !held.has(`${p.controller}|${p.intervalStartMs}`));
    // The counters are taken once per cycle, before its proposals, as the loop does.
    const dayStartMs = c.nowMs - (c.nowMs % DAY_MS);
    const ctx: PolicyContext = {
      nowMs: c.nowMs,
      ...(c.voltagePu !== null && { voltagePu: c.voltagePu }),
      ...(c.socPct !== null && { stateOfChargePct: c.socPct }),
      policyExpired: false,
      hubReachable: c.hubReachable,
      autoCountLastHour: autos.filter((a) => a.atMs >= c.nowMs - HOUR_MS).length,
      autoEnergyKwhToday: autos.filter((a) => a.atMs >= dayStartMs).reduce((s, a) => s + a.kwh, 0),
    };
    for (const p of fresh) {
      held.add(`${p.controller}|${p.intervalStartMs}`);
      const v = evaluate(toProposedAction(p), ctx);
      proposals.push({ id: p.id, hash: p.hash, cycleMs: c.nowMs, intervalStartMs: p.intervalStartMs, action: p.action, magnitudeKw: p.magnitudeKw, energyKwh: p.energyKwh, outcome: v.outcome, ruleId: v.ruleId });
      day.proposals++;
      day[v.outcome].count++;
      day[v.outcome].kwh += p.energyKwh;
      if (v.outcome === 'auto') autos.push({ atMs: c.nowMs, kwh: p.energyKwh });
    }
  }

  const list = [...days.values()];
  const total: StoreBacktestReport['total'] = { days: list.length, cycles: 0, proposals: 0, auto: tally(), escalate: tally(), deny: tally() };
  for (const d of list) {
    total.cycles += d.cycles;
    total.proposals += d.proposals;
    for (const k of ['auto', 'escalate', 'deny'] as const) {
      total[k].count += d[k].count;
      total[k].kwh += d[k].kwh;
      d[k].kwh = round3(d[k].kwh);
    }
  }
  for (const k of ['auto', 'escalate', 'deny'] as const) total[k].kwh = round3(total[k].kwh);
  return { policy: { id: policy.id, version: policy.version }, livePolicies: [...live], proposals, days: list, total };
}
