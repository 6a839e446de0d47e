/**
 * Ridge regression, one linear model per target hour (solved together: they share X). On the
 * feature builder's lags and calendar this is the "per-hour linear" reference every gridos model
 * is compared with, and the `linear` kind of model.
 */
import { standardisation, type Dataset } from './dataset.js';
import type { DenseNetwork } from './network.js';

/** Solves A X = B for symmetric positive definite A [n x n] and B [n x m], in place in B. */
export function choleskySolve(a: Float64Array, n: number, b: Float64Array, m: number): void {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      if (i === j) {
        if (!(s > 0)) throw new Error('matrix is not positive definite (raise the ridge penalty)');
        l[i * n + i] = Math.sqrt(s);
      } else l[i * n + j] = s / l[j * n + j]!;
    }
  }
  for (let c = 0; c < m; c++) {
    for (let i = 0; i < n; i++) {
      let s = b[i * m + c]!;
      for (let k = 0; k < i; k++) s -= l[i * n + k]! * b[k * m + c]!;
      b[i * m + c] = s / l[i * n + i]!;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = b[i * m + c]!;
      for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * b[k * m + c]!;
      b[i * m + c] = s / l[i * n + i]!;
    }
  }
}

/** The Gram matrix and moment of the standardised data, reused across penalties. */
export interface Moments {
  mean: Float64Array;
  invStd: Float64Array;
  /** X'X of the standardised, centred features [F x F]. */
  xtx: Float64Array;
  /** X'Y [F x H]. */
  xty: Float64Array;
  /** Mean of each target. */
  yMean: Float64Array;
  n: number;
}

export function moments(d: Dataset, std = standardisation(d)): Moments {
  const F = d.featureCount;
  const H = d.steps;
  const { mean, invStd } = std;
  const xtx = new Float64Array(F * F);
  const xty = new Float64Array(F * H);
  const yMean = new Float64Array(H);
  for (let i = 0; i < d.n; i++) for (let h = 0; h < H; h++) yMean[h]! += d.y[i * H + h]! / d.n;
  const z = new Float64Array(F);
  for (let i = 0; i < d.n; i++) {
    for (let j = 0; j < F; j++) z[j] = (d.x[i * F + j]! - mean[j]!) * invStd[j]!;
    for (let j = 0; j < F; j++) {
      const zj = z[j]!;
      if (zj === 0) continue;
      const row = j * F;
      for (let k = j; k < F; k++) xtx[row + k]! += zj * z[k]!;
      for (let h = 0; h < H; h++) xty[j * H + h]! += zj * (d.y[i * H + h]! - yMean[h]!);
    }
  }
  for (let j = 0; j < F; j++) for (let k = 0; k < j; k++) xtx[j * F + k] = xtx[k * F + j]!;
  return { mean, invStd, xtx, xty, yMean, n: d.n };
}

/** The ridge solution for `penalty` (relative to the sample count) as a one-layer network. */
export function ridge(m: Moments, penalty: number): DenseNetwork {
  const F = m.mean.length;
  const H = m.yMean.length;
  const a = Float64Array.from(m.xtx);
  // a feature that never varies gets a plain 1 on the diagonal: its weight comes out 0
  for (let j = 0; j < F; j++) a[j * F + j]! += m.invStd[j] === 0 ? 1 : penalty * m.n;
  const w = Float64Array.from(m.xty);
  choleskySolve(a, F, w, H);
  return {
    featureCount: F,
    inputMean: m.mean,
    inputInvStd: m.invStd,
    layers: [{ inSize: F, outSize: H, weights: w, bias: Float64Array.from(m.yMean), activation: 'none' }],
    bandLow: new Float64Array(H),
    bandHigh: new Float64Array(H),
  };
}
