/**
 * Scoring forecasts against actuals as they arrive (pure: no I/O, no clock; hours are passed in).
 *
 * Input: forecasts (a role, an issue time, one value per hour ahead, the model that made them)
 * and actual hourly loads (`observe(hourMs, actual)`), in any order.
 * Output: per role, the rolling MAPE / MAE / bias over the scored hours in the window that ends
 * at the newest scored hour (`windowHours` long), computed by `AccuracyMeter` in hour order,
 * so an offline computation over the same pairs gives the same numbers.
 * State kept: per role, the forecasts not yet fully scored (at most `maxPending`, oldest dropped
 * first; a forecast whose hours can no longer enter the window is dropped too) and one sample
 * per scored target hour inside the window. Memory is bounded by both.
 *
 * A target hour is scored once per role: a second forecast for the same issue time replaces the
 * first while pending, and a second actual for an hour already scored is ignored.
 */
import { AccuracyMeter } from '../../models/accuracy.js';
import { HOUR_MS } from '../../models/series.js';

export type Role = 'active' | 'shadow';

export interface RollingScore {
  role: Role;
  /** The model whose forecasts were scored last. */
  modelId?: string;
  /** Scored hours in the window. */
  n: number;
  /** In percent; NaN when n = 0 (as are mae and bias). */
  mape: number;
  mae: number;
  /** Mean of forecast - actual. */
  bias: number;
}

interface Pending {
  issueMs: number;
  load: Float64Array;
  modelId: string;
  scored: Uint8Array;
  left: number;
}

class RoleScore {
  readonly pending = new Map<number, Pending>();
  /** hourMs -> [forecast, actual] */
  readonly samples = new Map<number, [number, number]>();
  newestMs = -Infinity;
  modelId: string | undefined;
}

export interface ScorerOptions {
  windowHours: number;
  /** Forecasts kept per role while waiting for their actuals (default 168). */
  maxPending?: number;
}

export class ForecastScorer {
  private readonly roles = new Map<Role, RoleScore>();
  private readonly windowMs: number;
  private readonly maxPending: number;

  constructor(o: ScorerOptions) {
    if (!Number.isInteger(o.windowHours) || o.windowHours < 1) throw new RangeError(`windowHours ${o.windowHours} is not a positive integer`);
    this.windowMs = o.windowHours * HOUR_MS;
    this.maxPending = o.maxPending ?? 168;
  }

  private role(role: Role): RoleScore {
    let r = this.roles.get(role);
    if (!r) this.roles.set(role, (r = new RoleScore()));
    return r;
  }

  /** Keeps a forecast (the model's own output) until its hours are observed. */
  add(role: Role, issueMs: number, load: ArrayLike<number>, modelId: string): void {
    const r = this.role(role);
    const steps = load.length;
    if (steps === 0 || issueMs + steps * HOUR_MS <= r.newestMs - this.windowMs + HOUR_MS) return;
    r.pending.delete(issueMs);
    r.pending.set(issueMs, { issueMs, load: Float64Array.from(load), modelId, scored: new Uint8Array(steps), left: steps });
    while (r.pending.size > this.maxPending) r.pending.delete(r.pending.keys().next().value!);
  }

  /** Scores every pending forecast covering the hour that starts at `hourMs`; returns how many were scored. */
  observe(hourMs: number, actual: number): number {
    if (!Number.isFinite(actual) || hourMs % HOUR_MS !== 0) return 0;
    let scored = 0;
    for (const r of this.roles.values()) {
      for (const p of r.pending.values()) {
        const s = (hourMs - p.issueMs) / HOUR_MS;
        if (s < 0 || s >= p.scored.length || p.scored[s] === 1) continue;
        p.scored[s] = 1;
        p.left--;
        if (r.samples.has(hourMs)) continue;
        r.samples.set(hourMs, [p.load[s]!, actual]);
        r.modelId = p.modelId;
        r.newestMs = Math.max(r.newestMs, hourMs);
        scored++;
      }
      this.evict(r);
    }
    return scored;
  }

  private evict(r: RoleScore): void {
    const oldestInWindow = r.newestMs - this.windowMs + HOUR_MS;
    for (const h of r.samples.keys()) if (h < oldestInWindow) r.samples.delete(h);
    for (const [k, p] of r.pending) if (p.left === 0 || p.issueMs + p.scored.length * HOUR_MS <= oldestInWindow) r.pending.delete(k);
  }

  score(role: Role): RollingScore {
    const r = this.roles.get(role);
    const meter = new AccuracyMeter();
    if (r) for (const h of [...r.samples.keys()].sort((a, b) => a - b)) meter.add(...r.samples.get(h)!);
    const { n, mape, mae, bias } = meter.result();
    return { role, ...(r?.modelId !== undefined ? { modelId: r.modelId } : {}), n, mape, mae, bias };
  }

  pendingCount(role: Role): number {
    return this.roles.get(role)?.pending.size ?? 0;
  }

  /** Forgets a role's forecasts and scores (its model changed). */
  reset(role: Role): void {
    this.roles.delete(role);
  }
}

export interface DriftBound {
  maxMape: number;
  minSamples: number;
}

/**
 * Is a model's rolling error over its bound? Decided only once the window holds `minSamples`
 * scored hours; with fewer, the state stays as it was. Returns what changed, if anything.
 */
export class DriftWatch {
  private over = false;

  constructor(private readonly bound: DriftBound) {}

  get drifting(): boolean {
    return this.over;
  }

  update(score: Pick<RollingScore, 'n' | 'mape'>): 'raised' | 'cleared' | undefined {
    if (score.n < this.bound.minSamples || Number.isNaN(score.mape)) return undefined;
    if (!this.over && score.mape > this.bound.maxMape) {
      this.over = true;
      return 'raised';
    }
    if (this.over && score.mape <= this.bound.maxMape) {
      this.over = false;
      return 'cleared';
    }
    return undefined;
  }

  reset(): void {
    this.over = false;
  }
}
