/**
 * The model runtime: the only door to inference on the edge. It serves the active model of one
 * target (and a shadow beside it), and answers with the seasonal naive, marked as a fallback,
 * whenever the model cannot be trusted: missing, tampered with, unreadable, throwing, too slow,
 * or drifting (rolling MAPE over the bound). Load and run problems raise alarms (one warning
 * each, not one per forecast); scores of both roles are kept as actuals arrive.
 *
 * Timeouts: onnxruntime-node 1.30 runs an inference synchronously on the event loop (inside a
 * setImmediate), so no timer can interrupt it; the deadline is enforced by a race, for sessions
 * that really run elsewhere, and after the fact, for those that do not: a run slower than
 * `timeoutMs` is a MODEL_TIMEOUT whatever it returned. While an abandoned run has not settled,
 * the next invocations do not start another one (MODEL_TIMEOUT straight away).
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { buildFeatures, HORIZONS, isIssueTime } from '../../models/features.js';
import { seasonalNaive, type NaiveResult } from '../../models/naive.js';
import type { HourlySeries } from '../../models/series.js';
import { ModelSession, type ModelOutput } from '../../models/session.js';
import { AlarmBook } from './alarms.js';
import { createForecastMetrics, type ForecastMetrics } from './metrics.js';
import { DriftWatch, ForecastScorer, type RollingScore } from './scoring.js';
import { closeSlot, openSlot, type LoadedModel, type Slot } from './slot.js';
import { ModelRuntimeError, type Alarm, type FallbackCode, type Forecast, type ModelRef, type ModelRuntimeOptions, type Role } from './types.js';

const LOAD_CODES: readonly FallbackCode[] = ['MODEL_MISSING', 'MODEL_CARD_INVALID', 'MODEL_HASH_MISMATCH', 'MODEL_ONNX_MALFORMED', 'MODEL_SESSION_FAILED', 'MODEL_HORIZON_MISMATCH'];
const RUN_CODES: readonly FallbackCode[] = ['MODEL_ERROR', 'MODEL_TIMEOUT', 'MODEL_DRIFT'];

type Attempt = { out: ModelOutput } | { code: FallbackCode; message: string };
type RunOutcome = { kind: 'ok'; out: ModelOutput; seconds: number } | { kind: 'error'; message: string } | { kind: 'timeout'; message: string; out?: ModelOutput };

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function checkOptions(o: ModelRuntimeOptions): Readonly<ModelRuntimeOptions> {
  const bad = (what: string): never => {
    throw new ModelRuntimeError('EDGE_FORECAST_OPTIONS', `model runtime: ${what}`);
  };
  if (!o.target) bad('target is empty');
  if (!HORIZONS.includes(o.horizon)) bad(`horizon '${String(o.horizon)}' is not one of ${HORIZONS.join(', ')}`);
  if (!(Number.isFinite(o.timeoutMs) && o.timeoutMs > 0)) bad(`timeoutMs ${o.timeoutMs} is not a positive number of ms`);
  const { maxMape, windowHours, minSamples } = o.drift;
  if (!(Number.isFinite(maxMape) && maxMape > 0)) bad(`drift.maxMape ${maxMape} is not a positive percentage`);
  if (!Number.isInteger(windowHours) || windowHours < 1) bad(`drift.windowHours ${windowHours} is not a positive whole number of hours`);
  if (!Number.isInteger(minSamples) || minSamples < 1 || minSamples > windowHours) bad(`drift.minSamples ${minSamples} must be a whole number from 1 to drift.windowHours (${windowHours}), or drift could never be decided`);
  return Object.freeze({ ...o, drift: Object.freeze({ ...o.drift }) });
}

export class ModelRuntime {
  private slots: { active: Slot; shadow?: Slot } = { active: { ok: false, code: 'NO_MODEL', message: 'not opened yet' } };
  private readonly scorer: ForecastScorer;
  private readonly drift: DriftWatch;
  private readonly alarmBook: AlarmBook;
  private readonly metrics: ForecastMetrics;
  private readonly log: Logger;
  /** Roles whose history was too incomplete at the last forecast (warned once per episode). */
  private readonly short = new Set<Role>();
  private loading: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(private readonly o: Readonly<ModelRuntimeOptions>) {
    this.log = o.logger.child({ component: 'model-runtime', target: o.target });
    this.metrics = createForecastMetrics(o.registry ?? new Registry());
    this.scorer = new ForecastScorer({ windowHours: o.drift.windowHours, ...(o.maxPending !== undefined ? { maxPending: o.maxPending } : {}) });
    this.drift = new DriftWatch(o.drift);
    this.alarmBook = new AlarmBook(o.target, this.log, this.metrics, o.now, o.onAlarm);
  }

  /** Throws only for invalid options; a bad or missing model becomes fallbacks and an alarm. */
  static async open(options: ModelRuntimeOptions): Promise<ModelRuntime> {
    const rt = new ModelRuntime(checkOptions(options));
    await rt.reload();
    return rt;
  }

  /** Re-opens the model folders (a new model installed); scores restart for a role whose model changed. */
  reload(): Promise<void> {
    if (this.closed) return Promise.reject(new ModelRuntimeError('EDGE_FORECAST_CLOSED', 'the model runtime is closed'));
    this.loading = this.loading.then(() => this.load());
    return this.loading;
  }

  private async load(): Promise<void> {
    const opener = this.o.openSession ?? ((onnx, featureCount) => ModelSession.open(onnx, featureCount));
    const next: { active: Slot; shadow?: Slot } = { active: await openSlot(this.o.active, this.o.horizon, opener) };
    if (this.o.shadow !== undefined) next.shadow = await openSlot(this.o.shadow, this.o.horizon, opener);
    const before = this.slots;
    this.slots = next;
    this.installed('active', before.active, next.active);
    if (next.shadow) this.installed('shadow', before.shadow, next.shadow);
    await Promise.all([closeSlot(before.active, this.o.timeoutMs), before.shadow ? closeSlot(before.shadow, this.o.timeoutMs) : undefined]);
  }

  private installed(role: Role, before: Slot | undefined, after: Slot): void {
    const identity = (s: Slot | undefined): string => (s === undefined ? '' : s.ok ? s.model.ref.sha256 : `problem:${s.code}`);
    if (identity(before) !== identity(after)) {
      this.scorer.reset(role);
      if (role === 'active') this.drift.reset();
      for (const code of RUN_CODES) this.alarmBook.clear(role, code, 'the model was replaced');
      this.publishScore(this.scorer.score(role));
    }
    const problem = after.ok || after.code === 'NO_MODEL' ? undefined : after;
    for (const code of LOAD_CODES) if (code !== problem?.code) this.alarmBook.clear(role, code, 'the model folder loads now');
    if (problem) this.alarmBook.raise(role, problem.code, problem.message);
    else if (after.ok) this.log.info({ role, modelId: after.model.ref.id, version: after.model.ref.version, sha256: after.model.ref.sha256 }, `${role} model loaded`);
    else this.log.info({ role }, `no ${role} model configured: the seasonal naive answers (NO_MODEL)`);
  }

  /** The active forecast, then the shadow's (which never changes the active answer). */
  async forecast(series: HourlySeries, issueMs: number): Promise<{ active: Forecast; shadow?: Forecast }> {
    if (this.closed) throw new ModelRuntimeError('EDGE_FORECAST_CLOSED', 'the model runtime is closed');
    if (!isIssueTime(this.o.horizon, issueMs)) throw new ModelRuntimeError('EDGE_FORECAST_ISSUE_TIME', `${new Date(issueMs).toISOString()} is not a ${this.o.horizon} issue time`);
    let naive: NaiveResult | undefined;
    const naiveOf = (): NaiveResult => (naive ??= seasonalNaive(series, issueMs, this.o.horizon));
    const { active: activeSlot, shadow: shadowSlot } = this.slots;
    const active = await this.invoke('active', activeSlot, series, issueMs, naiveOf);
    if (!shadowSlot) return { active };
    try {
      return { active, shadow: await this.invoke('shadow', shadowSlot, series, issueMs, naiveOf) };
    } catch (err) {
      // whatever goes wrong with the shadow, the active answer stands
      this.alarmBook.raise('shadow', 'MODEL_ERROR', `the shadow forecast failed: ${errorText(err)}`);
      return { active };
    }
  }

  private async invoke(role: Role, slot: Slot, series: HourlySeries, issueMs: number, naiveOf: () => NaiveResult): Promise<Forecast> {
    const t0 = performance.now();
    let r: Attempt;
    try {
      r = slot.ok ? await this.attempt(role, slot.model, series, issueMs) : { code: slot.code, message: slot.message };
    } catch (err) {
      r = { code: 'MODEL_ERROR', message: `forecast failed: ${errorText(err)}` };
      this.alarmBook.raise(role, 'MODEL_ERROR', r.message);
    }
    const ref = slot.ok ? slot.model.ref : slot.ref;
    const f: Forecast = { target: this.o.target, role, horizon: this.o.horizon, issueMs, load: [], p10: [], p90: [], ...(ref ? { model: ref } : {}), latencyUs: 0 };
    if ('out' in r) {
      f.load = Array.from(r.out.load);
      f.p10 = Array.from(r.out.p10);
      f.p90 = Array.from(r.out.p90);
    } else {
      const naive = naiveOf();
      if (naive.ok) {
        f.load = Array.from(naive.forecast.load);
        f.p10 = Array.from(naive.forecast.p10);
        f.p90 = Array.from(naive.forecast.p90);
        f.fallback = { code: r.code, message: r.message };
      } else f.fallback = { code: 'INSUFFICIENT_DATA', message: `${r.code}: ${r.message}; and the seasonal naive cannot answer either: ${naive.message}` };
    }
    f.latencyUs = Math.round((performance.now() - t0) * 1000);
    const labels = { target: this.o.target, role };
    this.metrics.forecasts.inc({ ...labels, answer: f.fallback ? 'fallback' : 'model' });
    if (f.fallback) this.metrics.fallbacks.inc({ ...labels, code: f.fallback.code });
    this.log.debug({ role, issueMs, modelId: ref?.id, sha256: ref?.sha256, latencyUs: f.latencyUs, fallback: f.fallback?.code }, 'forecast');
    return f;
  }

  /** Features, inference, output checks; the model's own output is scored even when a fallback answers. */
  private async attempt(role: Role, m: LoadedModel, series: HourlySeries, issueMs: number): Promise<Attempt> {
    const features = m.spec.withTemperature && !series.temp ? { ok: false as const, message: 'the model needs temperature and the series has none' } : buildFeatures(series, issueMs, m.spec);
    if (!features.ok) {
      if (!this.short.has(role)) this.log.warn({ role }, `the history is too incomplete for the ${role} model's features (INSUFFICIENT_DATA): ${features.message}`);
      this.short.add(role);
      return { code: 'INSUFFICIENT_DATA', message: features.message };
    }
    if (this.short.delete(role)) this.log.info({ role }, `the history is complete enough for the ${role} model again`);
    if (m.inflight) {
      const message = 'the previous inference, abandoned at its deadline, is still running';
      this.alarmBook.raise(role, 'MODEL_TIMEOUT', message);
      return { code: 'MODEL_TIMEOUT', message };
    }
    const run = await this.runWithDeadline(m, features.features.values, features.features.scale);
    const out = run.kind === 'error' ? undefined : run.out;
    const bad = out && [out.load, out.p10, out.p90].find((v) => v.length !== m.steps || !v.every(Number.isFinite));
    if (out && !bad) this.scorer.add(role, issueMs, out.load, m.ref.id);
    if (run.kind !== 'ok' || bad) {
      const code = run.kind === 'timeout' ? 'MODEL_TIMEOUT' : 'MODEL_ERROR';
      const message = run.kind !== 'ok' ? run.message : `the model returned ${bad!.length} values where ${m.steps} were expected, or a value that is not finite`;
      this.alarmBook.raise(role, code, message);
      return { code, message };
    }
    this.metrics.inferenceSeconds.observe({ target: this.o.target, role }, run.seconds);
    for (const code of ['MODEL_ERROR', 'MODEL_TIMEOUT'] as const) this.alarmBook.clear(role, code, 'the model answered again');
    if (role === 'active' && this.drift.drifting) return { code: 'MODEL_DRIFT', message: this.driftText(this.scorer.score('active')) };
    return { out: run.out };
  }

  private async runWithDeadline(m: LoadedModel, values: Float64Array, scale: number): Promise<RunOutcome> {
    const { timeoutMs } = this.o;
    const started = performance.now();
    const run: Promise<RunOutcome> = m.session.run(values, scale).then(
      (out) => ({ kind: 'ok', out, seconds: (performance.now() - started) / 1000 }),
      (err: unknown) => ({ kind: 'error', message: `the model failed: ${errorText(err)}` }),
    );
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), timeoutMs)));
    const first = await Promise.race([run, deadline]);
    clearTimeout(timer);
    if (first === 'deadline') {
      m.inflight = run.then(() => void (m.inflight = undefined));
      return { kind: 'timeout', message: `no answer within ${timeoutMs} ms: the inference was abandoned` };
    }
    if (first.kind === 'ok' && first.seconds * 1000 > timeoutMs) {
      return { kind: 'timeout', out: first.out, message: `the inference took ${(first.seconds * 1000).toFixed(1)} ms, over the ${timeoutMs} ms bound: its answer was not used` };
    }
    return first;
  }

  /** An actual hourly load arrived: scores the pending forecasts covering that hour; returns how many. */
  /** The model configured for a role (when its card could be read), as the scores name it. */
  modelRef(role: Role): ModelRef | undefined {
    const slot = role === 'active' ? this.slots.active : this.slots.shadow;
    if (!slot) return undefined;
    return slot.ok ? slot.model.ref : slot.ref;
  }

  observe(hourMs: number, actual: number): number {
    const scored = this.scorer.observe(hourMs, actual);
    if (scored === 0) return 0;
    for (const s of this.scores()) {
      this.publishScore(s);
      if (s.role !== 'active') continue;
      const change = this.drift.update(s);
      if (change === 'raised') this.alarmBook.raise('active', 'MODEL_DRIFT', this.driftText(s));
      if (change === 'cleared') this.alarmBook.clear('active', 'MODEL_DRIFT', `rolling MAPE ${s.mape.toFixed(2)} % over ${s.n} h is back under ${this.o.drift.maxMape} %`);
    }
    return scored;
  }

  private driftText(s: RollingScore): string {
    return `rolling MAPE ${s.mape.toFixed(2)} % over the last ${s.n} scored hours is above the bound of ${this.o.drift.maxMape} %: the seasonal naive answers until it is back under`;
  }

  private publishScore(s: RollingScore): void {
    const labels = { target: this.o.target, role: s.role };
    const gauges = [[this.metrics.rollingMape, s.mape], [this.metrics.rollingMae, s.mae], [this.metrics.rollingBias, s.bias]] as const;
    for (const [gauge, value] of gauges) if (s.n > 0) gauge.set(labels, value); else gauge.remove(labels);
  }

  /** Rolling scores of the model's own forecasts, per configured role. */
  scores(): RollingScore[] {
    return this.slots.shadow ? [this.scorer.score('active'), this.scorer.score('shadow')] : [this.scorer.score('active')];
  }

  alarms(): Alarm[] {
    return this.alarmBook.list();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.loading.catch(() => undefined);
    const { active, shadow } = this.slots;
    await Promise.all([closeSlot(active, this.o.timeoutMs), shadow ? closeSlot(shadow, this.o.timeoutMs) : undefined]);
  }
}
