/** The model runtime's public data: what a forecast, an alarm and the options look like. */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Horizon } from '../../models/features.js';
import type { ModelOutput } from '../../models/session.js';
import type { Role } from './scoring.js';

/**
 * Why the seasonal naive answered instead of the model. Stable codes, never reused.
 *  - NO_MODEL: no model folder configured for the role (a configuration, not an alarm).
 *  - MODEL_MISSING, MODEL_CARD_INVALID, MODEL_HASH_MISMATCH, MODEL_ONNX_MALFORMED,
 *    MODEL_SESSION_FAILED, MODEL_HORIZON_MISMATCH: the folder could not be loaded (until reload).
 *  - MODEL_ERROR, MODEL_TIMEOUT: this invocation failed (the alarm clears after a good run).
 *  - MODEL_DRIFT: the active model's rolling MAPE is over the bound (clears when it is back under).
 *  - INSUFFICIENT_DATA: the history is too incomplete for the model's features (data, not an
 *    alarm), or for the seasonal naive too (then `load` is empty).
 */
export type FallbackCode =
  | 'NO_MODEL'
  | 'MODEL_MISSING'
  | 'MODEL_CARD_INVALID'
  | 'MODEL_HASH_MISMATCH'
  | 'MODEL_ONNX_MALFORMED'
  | 'MODEL_SESSION_FAILED'
  | 'MODEL_HORIZON_MISMATCH'
  | 'MODEL_ERROR'
  | 'MODEL_TIMEOUT'
  | 'MODEL_DRIFT'
  | 'INSUFFICIENT_DATA';

export type { Role };

export interface ModelRef {
  id: string;
  version: string;
  /** Of the .onnx file (on a load problem: the one the card names). */
  sha256: string;
  featureBuilderVersion: string;
}

export interface Forecast {
  target: string;
  role: Role;
  horizon: Horizon;
  /** Naive-local ms. */
  issueMs: number;
  /** One value per hour ahead; empty only when even the seasonal naive could not answer. */
  load: number[];
  p10: number[];
  p90: number[];
  /** The model that answered, or the one configured when a fallback answered (if its card could be read). */
  model?: ModelRef;
  /** Present iff the seasonal naive answered (or nothing could: `load` empty, code INSUFFICIENT_DATA). */
  fallback?: { code: FallbackCode; message: string };
  /** Wall time of this role's whole invocation (features, inference, checks). */
  latencyUs: number;
}

export interface Alarm {
  target: string;
  role: Role;
  code: FallbackCode;
  message: string;
  /** From the injected `now` (ms since the epoch). */
  sinceMs: number;
}

/** What the runtime needs of an inference session: `ModelSession` by default. */
export interface InferenceSessionLike {
  run(features: ArrayLike<number>, scale: number): Promise<ModelOutput>;
  close(): Promise<void>;
}

export type SessionOpener = (onnx: Uint8Array, featureCount: number) => Promise<InferenceSessionLike>;

export interface ModelRuntimeOptions {
  target: string;
  horizon: Horizon;
  /** Model folders (card.json + model.onnx). */
  active?: string;
  shadow?: string;
  /** An inference slower than this is abandoned: MODEL_TIMEOUT fallback. */
  timeoutMs: number;
  drift: { maxMape: number; windowHours: number; minSamples: number };
  logger: Logger;
  /** Where the metrics go (a private registry when absent). */
  registry?: Registry;
  /** Wall clock (ms since the epoch), for alarm times and nothing else. */
  now: () => number;
  onAlarm?: (alarm: Alarm, raised: boolean) => void;
  /** Forecasts kept per role while waiting for their actuals (default 168). */
  maxPending?: number;
  /** Opens an inference session (default: onnxruntime-node through `ModelSession`). A seam for tests. */
  openSession?: SessionOpener;
}

export class ModelRuntimeError extends Error {
  override readonly name = 'ModelRuntimeError';
  constructor(
    readonly code: 'EDGE_FORECAST_OPTIONS' | 'EDGE_FORECAST_ISSUE_TIME' | 'EDGE_FORECAST_CLOSED',
    message: string,
  ) {
    super(message);
  }
}
