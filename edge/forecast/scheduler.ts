/**
 * Forecast scheduling: each configured target is forecast as soon as its inputs are complete,
 * driven by the data, not a timer. When the aggregate of hour H of the target's tag closes, the
 * hour-ahead forecast for H+1 is issued; when H is the last hour of a local day, the day-ahead
 * forecast for the next day. The same closed aggregate is the actual that scores earlier
 * forecasts. So an agent that was offline, a replay, or a simulator running time faster all
 * forecast exactly when the data says so.
 *
 * Each forecast (active and shadow) is stored and queued for the hub in one transaction; the
 * rolling scores go to the hub every `scoresEveryMs`.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { EdgeConfig } from '../../config/index.js';
import { isIssueTime } from '../../models/features.js';
import { parseNaiveMs, readSeriesCsv } from '../../models/series.js';
import type { ActiveModelInfo, Aggregate, ForecastMessage, ModelScore } from '../../protocols/index.js';
import type { EdgeStore } from '../store/edge-store.js';
import { forecastDraft, scoresDraft, type DraftContext } from '../uplink/drafts.js';
import { realTimeClock, simulatedClock, type ForecastClock } from './clock.js';
import { LoadHistory } from './history.js';
import { ModelRuntime } from './runtime.js';
import type { Alarm, Forecast } from './types.js';

const HOUR_MS = 3_600_000;
/** History handed to the runtime: two weeks covers the features (one week) and the fallback's band. */
const HISTORY_HOURS = 15 * 24;

type ForecastConfig = EdgeConfig['forecast'];
type TargetConfig = ForecastConfig['targets'][number];

interface Target {
  config: TargetConfig;
  runtime: ModelRuntime;
  history: LoadHistory;
  /** Naive-local ms of the newest issue time forecast. */
  lastIssueMs: number;
  /** Forecasts are issued one at a time, in order. */
  queue: Promise<void>;
}

export interface SchedulerDeps {
  store: EdgeStore;
  ctx: DraftContext;
  logger: Logger;
  registry: Registry;
  /** The agent's clock. */
  now: () => number;
  /** Called after forecasts were committed (the uplink is told there is something to send). */
  onCommitted?: () => void;
}

/** The clock for a config; a simulated one starts on the aggregate window grid, so each window is exactly one simulated hour. */
export function forecastClock(config: ForecastConfig['clock'], wallStartMs: number): ForecastClock {
  if (config.simulatedStart === undefined) return realTimeClock(config.timeZone);
  return simulatedClock(config.hourMs, parseNaiveMs(config.simulatedStart)!, Math.floor(wallStartMs / config.hourMs) * config.hourMs);
}

export class ForecastScheduler {
  private readonly targets: Target[] = [];
  private readonly clock: ForecastClock;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  private constructor(
    private readonly config: ForecastConfig,
    private readonly deps: SchedulerDeps,
  ) {
    this.clock = forecastClock(config.clock, deps.now());
  }

  static async start(config: ForecastConfig, deps: SchedulerDeps): Promise<ForecastScheduler> {
    const s = new ForecastScheduler(config, deps);
    for (const t of config.targets) await s.addTarget(t);
    if (s.targets.length > 0) {
      s.timer = setInterval(() => s.sendScores(), config.scoresEveryMs);
      s.timer.unref();
    }
    return s;
  }

  private async addTarget(config: TargetConfig): Promise<void> {
    const log = this.deps.logger.child({ target: config.id });
    const runtime = await ModelRuntime.open({
      target: config.id,
      horizon: config.horizon,
      ...(config.model ? { active: config.model } : {}),
      ...(config.shadow ? { shadow: config.shadow } : {}),
      timeoutMs: this.config.timeoutMs,
      drift: this.config.drift,
      logger: log,
      registry: this.deps.registry,
      now: this.deps.now,
      onAlarm: (a: Alarm, raised: boolean) => log[raised ? 'warn' : 'info']({ role: a.role, code: a.code }, raised ? `forecast alarm: ${a.message}` : `forecast alarm cleared: ${a.code}`),
    });
    const history = new LoadHistory(HISTORY_HOURS * 2);
    if (config.history) {
      try {
        // a seed is the past: hours from the agent's present on are what the agent will measure
        const nowHour = Math.floor(this.clock.toNaive(this.deps.now()) / HOUR_MS) * HOUR_MS;
        history.seed(readSeriesCsv(config.history.file, config.history.column), config.history.scale, nowHour);
      } catch (err) {
        log.error({ file: config.history.file, err: (err as Error).message }, 'could not read the seed history: forecasting from the agent\'s own aggregates only');
      }
    }
    // the agent's own aggregates override the seed
    const sinceWall = this.clock.toWall(this.clock.toNaive(this.deps.now()) - HISTORY_HOURS * HOUR_MS);
    for (const a of this.deps.store.aggregatesSince(config.tag, this.clock.hourMs, sinceWall)) history.set(this.hourOf(a.windowStartMs), a.mean);
    const newest = history.newestHourMs;
    const target: Target = { config, runtime, history, lastIssueMs: newest ?? -Infinity, queue: Promise.resolve() };
    this.targets.push(target);
    // Catch up at start: the forecast covering the present (today's day-ahead, this hour's
    // hour-ahead), from the data before its issue time, when the store does not hold it yet (the
    // agent was down at midnight, or this is its first start).
    const present = this.clock.toNaive(this.deps.now());
    const every = config.horizon === 'day-ahead' ? 24 * HOUR_MS : HOUR_MS;
    const currentIssueMs = Math.floor(present / every) * every;
    const stored = this.deps.store.forecasts(config.id, 1)[0];
    const alreadyHave = stored !== undefined && stored.firstHourMs >= Math.round(this.clock.toWall(currentIssueMs));
    if (!alreadyHave && history.has(currentIssueMs - HOUR_MS)) {
      target.lastIssueMs = Math.max(target.lastIssueMs, currentIssueMs);
      target.queue = target.queue.then(() => this.issue(target, currentIssueMs));
    }
    log.info({ tag: config.tag, horizon: config.horizon, model: config.model ?? null, shadow: config.shadow ?? null, newestHour: newest === undefined ? null : new Date(newest).toISOString().slice(0, 16) }, 'forecast target ready');
  }

  /** The naive-local hour an aggregate window (agent clock) stands for. */
  private hourOf(windowStartMs: number): number {
    return Math.round(this.clock.toNaive(windowStartMs) / HOUR_MS) * HOUR_MS;
  }

  /** Closed aggregates, as the agent commits them. Forecasting runs after, off the caller's path. */
  onAggregates(aggregates: readonly Aggregate[]): void {
    if (this.stopped || this.targets.length === 0) return;
    for (const t of this.targets) {
      const mine = aggregates.filter((a) => a.tagId === t.config.tag && a.windowMs === this.clock.hourMs).sort((a, b) => a.windowStartMs - b.windowStartMs);
      for (const a of mine) {
        const hour = this.hourOf(a.windowStartMs);
        t.history.set(hour, a.mean);
        t.runtime.observe(hour, a.mean);
        const issueMs = hour + HOUR_MS;
        if (issueMs > t.lastIssueMs && isIssueTime(t.config.horizon, issueMs)) {
          t.lastIssueMs = issueMs;
          t.queue = t.queue.then(() => this.issue(t, issueMs));
        }
      }
    }
  }

  private async issue(t: Target, issueMs: number): Promise<void> {
    if (this.stopped) return;
    const log = this.deps.logger;
    try {
      const { active, shadow } = await t.runtime.forecast(t.history.before(issueMs, HISTORY_HOURS), issueMs);
      if (this.stopped) return;
      const messages = [active, ...(shadow ? [shadow] : [])].filter((f) => f.load.length > 0).map((f) => this.message(t, f));
      if (messages.length > 0) {
        this.deps.store.commit({ forecasts: messages, outbox: messages.map((m) => forecastDraft(this.deps.ctx, m)) });
        this.deps.onCommitted?.();
      }
      const peak = Math.max(...active.load);
      log.info(
        { target: t.config.id, horizon: t.config.horizon, issue: new Date(issueMs).toISOString().slice(0, 16), model: active.model?.id ?? null, fallback: active.fallback?.code ?? null, peak: Number.isFinite(peak) ? Math.round(peak * 10) / 10 : null, latencyUs: active.latencyUs },
        active.fallback ? `forecast issued by the seasonal-naive fallback (${active.fallback.code})` : 'forecast issued',
      );
    } catch (err) {
      log.error({ target: t.config.id, err: err instanceof Error ? err.message : String(err) }, 'forecast failed');
    }
  }

  private message(t: Target, f: Forecast): ForecastMessage {
    return {
      target: t.config.id,
      tag: t.config.tag,
      horizon: f.horizon,
      role: f.role,
      issuedAtMs: this.deps.now(),
      firstHourMs: Math.round(this.clock.toWall(f.issueMs)),
      hourMs: this.clock.hourMs,
      load: f.load,
      p10: f.p10,
      p90: f.p90,
      ...(f.model ? { model: f.model } : {}),
      fallbackCode: f.fallback?.code ?? '',
      fallbackReason: f.fallback?.message ?? '',
      latencyUs: Math.round(f.latencyUs),
    };
  }

  /** Which model each target runs, per role (active, and shadow when configured), as the hub is told in State. */
  models(): ActiveModelInfo[] {
    const out: ActiveModelInfo[] = [];
    for (const t of this.targets) {
      for (const role of ['active', 'shadow'] as const) {
        const ref = t.runtime.modelRef(role);
        if (ref) out.push({ target: t.config.id, role, id: ref.id, version: ref.version, sha256: ref.sha256 });
      }
    }
    return out;
  }

  /** The rolling scores of every target's models, as sent to the hub. */
  scores(): ModelScore[] {
    const out: ModelScore[] = [];
    for (const t of this.targets) {
      for (const s of t.runtime.scores()) {
        if (s.n === 0) continue;
        const ref = t.runtime.modelRef(s.role);
        out.push({ target: t.config.id, role: s.role, ...(ref ? { model: ref } : {}), horizon: t.config.horizon, n: s.n, windowHours: this.config.drift.windowHours, mape: s.mape, mae: s.mae, bias: s.bias });
      }
    }
    return out;
  }

  sendScores(): void {
    if (this.stopped) return;
    const scores = this.scores();
    if (scores.length === 0) return;
    try {
      this.deps.store.commit({ outbox: [scoresDraft(this.deps.ctx, this.deps.now(), scores)] });
      this.deps.onCommitted?.();
    } catch (err) {
      this.deps.logger.error({ err: (err as Error).message }, 'could not queue the model scores');
    }
  }

  alarms(): Alarm[] {
    return this.targets.flatMap((t) => t.runtime.alarms());
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.stopped = true;
    await Promise.allSettled(this.targets.map((t) => t.queue));
    await Promise.allSettled(this.targets.map((t) => t.runtime.close()));
  }
}
