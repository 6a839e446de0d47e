/**
 * Running an exported model in onnxruntime-node, set for a small gateway: one thread, no
 * spinning (onnxruntime's default thread pool keeps cores busy after each run).
 */
import * as ort from 'onnxruntime-node';
import { INPUT_FEATURES, INPUT_SCALE } from './onnx/index.js';

export const GATEWAY_SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  // errors reach the caller (and its log) as exceptions; onnxruntime's own log would bypass pino
  logSeverityLevel: 4,
  // onnxruntime-node passes these through as session config entries (values must be strings)
  extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
};

export interface ModelOutput {
  load: Float32Array;
  p10: Float32Array;
  p90: Float32Array;
}

export class ModelSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly featureCount: number,
  ) {}

  static async open(onnx: Uint8Array, featureCount: number): Promise<ModelSession> {
    const session = new ModelSession(await ort.InferenceSession.create(onnx, GATEWAY_SESSION_OPTIONS), featureCount);
    // one run on zeros, so the first real forecast does not pay for onnxruntime's first-run set-up;
    // a model that fails it fails its real runs too, and is reported there, with its input
    await session.run(new Float32Array(featureCount), 1).catch(() => undefined);
    return session;
  }

  /** One forecast (batch 1). */
  async run(features: ArrayLike<number>, scale: number): Promise<ModelOutput> {
    const feeds = {
      [INPUT_FEATURES]: new ort.Tensor('float32', Float32Array.from(features), [1, this.featureCount]),
      [INPUT_SCALE]: new ort.Tensor('float32', Float32Array.of(scale), [1, 1]),
    };
    const out = await this.session.run(feeds);
    return { load: out.load!.data as Float32Array, p10: out.p10!.data as Float32Array, p90: out.p90!.data as Float32Array };
  }

  /** Many forecasts in one call: `features` row-major [n x featureCount]; outputs row-major [n x steps]. */
  async runBatch(features: Float32Array, scales: Float32Array): Promise<ModelOutput> {
    const n = scales.length;
    const out = await this.session.run({
      [INPUT_FEATURES]: new ort.Tensor('float32', features, [n, this.featureCount]),
      [INPUT_SCALE]: new ort.Tensor('float32', scales, [n, 1]),
    });
    return { load: out.load!.data as Float32Array, p10: out.p10!.data as Float32Array, p90: out.p90!.data as Float32Array };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
