/**
 * What each step between a reading and a journaled proposal costs, on real SQLite files in a
 * scratch directory, with the dispatch loop's own parts (store, cycle log, controller, policy,
 * journal): the edge's path as it was (`before`: the newest forecast queried and parsed each
 * cycle, the cycle log recorded ahead of the controller, the proposal's first journaling
 * committed with an fsync, WAL checkpoints by whichever commit crosses 1000 pages) against the
 * path as the loop runs it now (`after`: the forecast cached per issue, the cycle log recorded
 * once the proposals are journaled and checkpointing there, the first journaling without an
 * fsync; the gating transition that follows still has one). Both run in
 * the same process, interleaved round by round, so the machine's load falls on both alike.
 *
 * Input: a scratch directory. Output: per step and per path, p50/p99/max in ms. State: none kept.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { CycleLog, type RecordedController } from '../edge/dispatch/cycle-log.js';
import { peakShavingController, type ForecastInput } from '../edge/dispatch/controllers/peak-shaving.js';
import { NewestForecast } from '../edge/dispatch/newest-forecast.js';
import { DispatchJournal } from '../edge/dispatch/journal.js';
import { toProposedAction } from '../edge/dispatch/proposal.js';
import { events } from '../edge/dispatch/states.js';
import { EdgeStore } from '../edge/store/edge-store.js';
import { LatestValues } from '../edge/latest-values.js';
import { Quality } from '../protocols/index.js';
import { policyView, stats } from './dispatch-parts.js';

const HOUR_MS = 3_600_000;
const TARGET = 'feeder1-load';
const LIMIT_KW = 5000;
const STEPS = ['snapshot', 'cycleLog', 'controller', 'policy', 'journal', 'gate'] as const;
type Step = (typeof STEPS)[number];

const controller: RecordedController = {
  edgeId: 'edge-steps',
  siteId: 'site-steps',
  assetId: 'bess-01',
  setpointPoint: 'ns=1;s=BESS1.PowerSetpoint',
  limitKw: LIMIT_KW,
  basis: 'load',
  battery: { capacityKwh: 2000, maxDischargeKw: 1000, maxChargeKw: 1000, roundTripEfficiency: 0.9, socMinPct: 10, socMaxPct: 95 },
};

/** A day-ahead forecast (24 hourly values) whose next interval peaks `overKw` above the limit. */
function forecast(startMs: number, overKw: number) {
  const load = Array.from({ length: 24 }, (_, h) => (h === 1 ? LIMIT_KW + overKw : 4000 + 20 * h));
  return { target: TARGET, tag: 'feeder1.active_power_kw', horizon: 'day-ahead', role: 'active', issuedAtMs: startMs, firstHourMs: startMs, hourMs: HOUR_MS, load, p10: load.map((v) => v * 0.97), p90: load.map((v) => v * 1.03), fallbackCode: '', fallbackReason: '', latencyUs: 0 } as const;
}

/** The pre-cache query of loop.ts: the newest 8 rows, parsed, the first active one kept. */
function queriedForecast(store: EdgeStore): ForecastInput | undefined {
  const f = store.forecasts(TARGET, 8).find((r) => r.role === 'active');
  return f && { target: TARGET, startMs: f.firstHourMs, stepMs: f.hourMs, stepHours: 1, load: f.load, p10: f.p10, p90: f.p90 };
}

export function benchDispatchSteps(dir: string, rounds: number) {
  const store = new EdgeStore(join(dir, 'edge.db'));
  const latest = new LatestValues();
  const control = peakShavingController(controller);
  const policy = policyView();
  // before: the journal as it was opened (WAL, synchronous=FULL on every transaction), and the
  // cycle log's own connection on the same file
  const beforeDb = new Database(join(dir, 'before.db'));
  beforeDb.pragma('journal_mode = WAL');
  beforeDb.pragma('synchronous = FULL');
  const journals = { before: new DispatchJournal(beforeDb, { clock: Date.now }), after: new DispatchJournal(join(dir, 'after.db'), { clock: Date.now, autoCheckpoint: false }) };
  const logs = { before: new CycleLog(join(dir, 'before.db')), after: new CycleLog(join(dir, 'after.db')) };
  const cache = new NewestForecast(store, TARGET);
  const empty = () => Object.fromEntries([...STEPS, 'total'].map((s) => [s, [] as number[]])) as Record<Step | 'total', number[]>;
  const times = { before: empty(), after: empty() };
  // a store with some history: a forecast issued per hour over two days
  const t0 = Date.parse('2026-03-02T00:00:00Z');
  for (let h = 0; h < 48; h++) store.commit({ forecasts: [forecast(t0 + h * HOUR_MS, 300)] });
  const cacheMisses: number[] = [];

  try {
    for (let i = 0; i < rounds; i++) {
      // each round: a new forecast (new interval, so a new proposal id), then one cycle per path
      const startMs = t0 + (48 + i) * HOUR_MS;
      store.commit({ forecasts: [forecast(startMs, i % 2 === 0 ? 300 : 400)] });
      latest.update([{ tagId: 'bess1.soc_pct', tsMs: startMs, value: 60, quality: Quality.Good }, { tagId: 'feeder1.active_power_kw', tsMs: startMs, value: 4800, quality: Quality.Good }]);
      const nowMs = startMs + 1_000;
      for (const path of i % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const)) {
        const t = times[path];
        const mark = (step: Step, since: number) => {
          const now = performance.now();
          t[step].push(now - since);
          return now;
        };
        if (path === 'after') {
          // the first look after a new forecast is a miss (reported apart); the loop's other cycles in the hour hit
          const m = performance.now();
          cache.get();
          cacheMisses.push(performance.now() - m);
        }
        const start = performance.now();
        const values = latest.snapshot();
        const f = path === 'before' ? queriedForecast(store) : cache.get();
        let at = mark('snapshot', start);
        const cycle = { nowMs, socPct: values.get('bess1.soc_pct')?.value ?? null, voltagePu: null, feederKw: values.get('feeder1.active_power_kw')?.value ?? null, forecast: f ?? null, hubReachable: true, policy: { id: policy.policyId, version: policy.version }, controller };
        if (path === 'before') {
          logs.before.record(cycle);
          at = mark('cycleLog', at);
        }
        const result = control({ nowMs, socPct: cycle.socPct ?? undefined, forecast: f });
        const p = result.proposals[0];
        if (!p) throw new Error(`round ${i}: no proposal (${result.status}: ${result.note})`);
        at = mark('controller', at);
        const verdict = policy.evaluate(toProposedAction(p), { nowMs, stateOfChargePct: 60, hubReachable: true, autoCountLastHour: 0, autoEnergyKwhToday: 0 });
        at = mark('policy', at);
        journals[path].propose(p, verdict);
        at = mark('journal', at);
        t.total.push(at - start);
        journals[path].apply(p.id, events.gated(verdict.outcome));
        at = mark('gate', at);
        if (path === 'after') {
          const l = performance.now();
          logs.after.record(cycle);
          t.cycleLog.push(performance.now() - l);
        }
      }
    }
  } finally {
    journals.before.close();
    journals.after.close();
    beforeDb.close();
    logs.before.close();
    logs.after.close();
    store.close();
  }
  const summary = (path: 'before' | 'after') => Object.fromEntries([...STEPS, 'total' as const].map((s) => [s, stats(times[path][s])])) as Record<Step | 'total', ReturnType<typeof stats>>;
  return {
    rounds,
    forecast: '24 hourly values, 48 older forecasts in the store',
    before: { ...summary('before'), path: 'forecast queried + parsed; cycle log recorded before the journal (own connection); first journaling fsynced' },
    after: { ...summary('after'), cacheMiss: stats(cacheMisses), path: 'forecast cached per issue (snapshot: a hit); first journaling without fsync; cycle log after the journal, outside the figure (its time: cycleLog)' },
    note: 'total: reading -> proposal journaled (snapshot, cycle log where it precedes the journal, controller, policy, journal); gate: the following transition (fsynced) that precedes any escalation or write',
  };
}
