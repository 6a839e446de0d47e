/**
 * @module edge/forecast
 * The model runtime, the only door to inference on the edge: it serves a target's active model
 * (and a shadow beside it), answers with the seasonal naive, marked as a fallback, when the
 * model cannot be trusted, raises alarms, and scores both models as actuals arrive.
 *
 * @example
 *   const rt = await ModelRuntime.open({ target: 'feeder-1', horizon: 'day-ahead', active: 'models/feeder-1',
 *     timeoutMs: 500, drift: { maxMape: 15, windowHours: 168, minSamples: 48 }, logger, now: () => Date.now() });
 *   const { active } = await rt.forecast(series, midnightMs); // active.fallback?.code says if the naive answered
 *   rt.observe(hourMs, actualLoad);                           // as each hour's actual arrives
 *   await rt.close();
 */
export { ModelRuntime } from './runtime.js';
export { ModelRuntimeError } from './types.js';
export type { Alarm, FallbackCode, Forecast, InferenceSessionLike, ModelRef, ModelRuntimeOptions, Role, SessionOpener } from './types.js';
export { DriftWatch, ForecastScorer } from './scoring.js';
export type { DriftBound, RollingScore, ScorerOptions } from './scoring.js';
