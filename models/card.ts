/**
 * The model card: what a model is, what it was trained on, how good it was, and the sha256 of
 * its `.onnx` file. A model is a folder holding `model.onnx` and `card.json`; the runtime
 * refuses a model whose file does not hash to what its card says.
 */
import { z } from 'zod';
import { HORIZONS } from './features.js';

const accuracy = z.object({
  n: z.number().int().nonnegative(),
  mape: z.number(),
  mae: z.number(),
  rmse: z.number(),
  bias: z.number(),
  bandCoverage: z.number().optional(),
});

const io = z.object({ name: z.string(), shape: z.array(z.union([z.number().int(), z.string()])), meaning: z.string() });

export const modelCardSchema = z.object({
  cardVersion: z.literal(1),
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/),
  version: z.string().min(1),
  created: z.string(),
  kind: z.enum(['linear', 'mlp']),
  horizon: z.enum(HORIZONS as ['day-ahead', 'hour-ahead']),
  steps: z.number().int().positive(),
  description: z.string(),
  inputs: z.array(io),
  outputs: z.array(io),
  features: z.object({
    builderVersion: z.string(),
    names: z.array(z.string()),
    withTemperature: z.boolean(),
    holidays: z.object({ name: z.string(), dates: z.array(z.string()).optional() }),
    maxMissingFraction: z.number().min(0).max(1),
  }),
  training: z.object({
    file: z.string(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    from: z.string(),
    to: z.string(),
    samples: z.number().int().nonnegative(),
    validationFrom: z.string(),
    seed: z.number().int(),
    hyperparameters: z.record(z.string(), z.union([z.number(), z.string()])),
    durationMs: z.number().nonnegative(),
  }),
  /**
   * Scores on the validation period (the last part of the training range, held out from the fit
   * that is scored), next to the seasonal naive (same hour yesterday) and the per-hour linear
   * reference (ridge on the load lags and the day of week alone).
   */
  validation: z.object({ model: accuracy, seasonalNaive: accuracy, linear: accuracy }),
  /** Scores after `training.to`, when the data file had any. */
  test: z.object({ from: z.string(), to: z.string(), model: accuracy, seasonalNaive: accuracy, linear: accuracy }).optional(),
  onnx: z.object({
    /** onnxruntime against the TypeScript model on real feature rows (the test period, else validation). */
    parity: z.object({ samples: z.number().int().nonnegative(), maxAbsDiff: z.number().nonnegative(), maxRelDiff: z.number().nonnegative(), period: z.string() }).optional(),
    file: z.string().regex(/^[A-Za-z0-9_.-]+$/, { message: 'a file name inside the model folder' }).refine((f) => f !== '.' && f !== '..', { message: 'a file name inside the model folder' }), sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().positive(), opset: z.number().int().positive() }),
});

export type ModelCard = z.infer<typeof modelCardSchema>;
export type CardAccuracy = z.infer<typeof accuracy>;

export const CARD_FILE = 'card.json';
export const ONNX_FILE = 'model.onnx';
