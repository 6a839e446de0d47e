/**
 * The newest forecast of one target answered for the active role, as the dispatch loop's
 * snapshot takes it, kept per forecast issue: the store counts the commits that stored a forecast
 * of the target (`forecastIssue`), and only when that count moves is the store asked again and
 * its row parsed. A forecast is issued about once an hour while the loop cycles every few seconds
 * and on readings, so nearly every cycle gets the object parsed before (frozen: a cycle can
 * neither change it nor see it change).
 *
 * Input: the store. Output: a frozen ForecastInput or undefined. State: the last answer and the
 * issue count it was read at.
 */
import type { FallbackCode } from '../forecast/types.js';
import type { EdgeStore } from '../store/edge-store.js';
import type { ForecastInput } from './controllers/peak-shaving.js';
import { deepFreeze } from './proposal.js';

export type ForecastSource = Pick<EdgeStore, 'newestForecast' | 'forecastIssue'>;

export class NewestForecast {
  private issue: number | undefined;
  private held: Readonly<ForecastInput> | undefined;

  constructor(
    private readonly store: ForecastSource,
    readonly target: string,
  ) {}

  get(): Readonly<ForecastInput> | undefined {
    const issue = this.store.forecastIssue(this.target);
    if (issue !== this.issue) {
      this.held = read(this.store, this.target);
      this.issue = issue;
    }
    return this.held;
  }
}

/** The newest forecast of the target answered for the active role, on the agent clock. */
function read(store: ForecastSource, target: string): Readonly<ForecastInput> | undefined {
  const f = store.newestForecast(target, 'active');
  if (!f) return undefined;
  return deepFreeze({
    target,
    startMs: f.firstHourMs,
    stepMs: f.hourMs,
    // forecasts are hourly on the forecast clock, however fast that clock runs
    stepHours: 1,
    load: f.load,
    p10: f.p10,
    p90: f.p90,
    ...(f.modelId !== '' && { model: { id: f.modelId, version: f.modelVersion, sha256: f.modelSha256 } }),
    ...(f.fallbackCode !== '' && { fallback: { code: f.fallbackCode as FallbackCode } }),
  });
}
