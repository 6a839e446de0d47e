/**
 * A one-hidden-layer perceptron (ReLU) trained with Adam on mini-batches, with early stopping on
 * a validation set, in plain TypeScript. Several members trained from different seeds are merged
 * into one wider network (the average of K two-layer networks is itself a two-layer network),
 * so an ensemble costs one ONNX graph and one inference.
 */
import type { Dataset } from './dataset.js';
import type { DenseNetwork } from './network.js';
import { Random } from './random.js';

export interface MlpOptions {
  hidden: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Decoupled weight decay (AdamW), per step, relative to the learning rate. */
  weightDecay: number;
  /** `mae` follows the percentage errors operators read (targets are relative to the load's level); `mse` punishes large misses more. */
  loss: 'mse' | 'mae';
  /** Stop when the validation loss has not improved for this many epochs. */
  patience: number;
  seed: number;
}

export const DEFAULT_MLP: MlpOptions = { hidden: 48, epochs: 200, batchSize: 32, learningRate: 1e-3, weightDecay: 1e-4, patience: 20, seed: 1, loss: 'mae' };

export interface MlpProgress {
  epoch: number;
  epochs: number;
  trainLoss: number;
  validationLoss: number;
}

interface Params {
  w1: Float64Array; // [F x Hd]
  b1: Float64Array;
  w2: Float64Array; // [Hd x H]
  b2: Float64Array;
}

class Adam {
  private m: Float64Array;
  private v: Float64Array;
  private t = 0;
  constructor(private readonly size: number) {
    this.m = new Float64Array(size);
    this.v = new Float64Array(size);
  }
  step(p: Float64Array, g: Float64Array, lr: number, decay: number): void {
    this.t++;
    const b1 = 0.9;
    const b2 = 0.999;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    for (let i = 0; i < this.size; i++) {
      const gi = g[i]!;
      const m = (this.m[i] = b1 * this.m[i]! + (1 - b1) * gi);
      const v = (this.v[i] = b2 * this.v[i]! + (1 - b2) * gi * gi);
      p[i] = p[i]! * (1 - lr * decay) - (lr * (m / c1)) / (Math.sqrt(v / c2) + 1e-8);
    }
  }
}

/** Standardised features of every row, computed once. */
function standardise(d: Dataset, mean: Float64Array, invStd: Float64Array): Float64Array {
  const F = d.featureCount;
  const z = new Float64Array(d.n * F);
  for (let i = 0; i < d.n; i++) for (let j = 0; j < F; j++) z[i * F + j] = (d.x[i * F + j]! - mean[j]!) * invStd[j]!;
  return z;
}

function meanLoss(p: Params, z: Float64Array, d: Dataset, hidden: number, loss: MlpOptions['loss']): number {
  const F = d.featureCount;
  const H = d.steps;
  const h = new Float64Array(hidden);
  let total = 0;
  for (let i = 0; i < d.n; i++) {
    forwardHidden(p, z, i * F, F, hidden, h);
    for (let o = 0; o < H; o++) {
      let y = p.b2[o]!;
      for (let k = 0; k < hidden; k++) y += h[k]! * p.w2[k * H + o]!;
      const e = y - d.y[i * H + o]!;
      total += loss === 'mae' ? Math.abs(e) : e * e;
    }
  }
  return total / Math.max(1, d.n * H);
}

function forwardHidden(p: Params, z: Float64Array, at: number, F: number, hidden: number, h: Float64Array): void {
  h.set(p.b1);
  for (let j = 0; j < F; j++) {
    const zj = z[at + j]!;
    if (zj === 0) continue;
    const row = j * hidden;
    for (let k = 0; k < hidden; k++) h[k]! += zj * p.w1[row + k]!;
  }
  for (let k = 0; k < hidden; k++) if (h[k]! < 0) h[k] = 0;
}

/** Trains one member; returns its parameters at the epoch with the lowest validation loss. */
function trainMember(
  train: Dataset,
  validation: Dataset,
  std: { mean: Float64Array; invStd: Float64Array },
  o: MlpOptions,
  onEpoch?: (p: MlpProgress) => void,
): Params {
  const F = train.featureCount;
  const H = train.steps;
  const Hd = o.hidden;
  const rng = new Random(o.seed);
  const p: Params = { w1: new Float64Array(F * Hd), b1: new Float64Array(Hd), w2: new Float64Array(Hd * H), b2: new Float64Array(H) };
  const s1 = Math.sqrt(2 / F);
  for (let i = 0; i < p.w1.length; i++) p.w1[i] = rng.normal() * s1;
  // the output starts near zero: the network learns a small correction, and output weights of
  // the usual size would start it with noise far larger than what it is meant to learn
  const s2 = 0.01 * Math.sqrt(1 / Hd);
  for (let i = 0; i < p.w2.length; i++) p.w2[i] = rng.normal() * s2;
  // start from the mean target so the first epochs learn shape, not level
  for (let o2 = 0; o2 < H; o2++) {
    let s = 0;
    for (let i = 0; i < train.n; i++) s += train.y[i * H + o2]!;
    p.b2[o2] = s / Math.max(1, train.n);
  }
  const zt = standardise(train, std.mean, std.invStd);
  const zv = standardise(validation, std.mean, std.invStd);
  const g: Params = { w1: new Float64Array(F * Hd), b1: new Float64Array(Hd), w2: new Float64Array(Hd * H), b2: new Float64Array(H) };
  const opt = { w1: new Adam(p.w1.length), b1: new Adam(Hd), w2: new Adam(p.w2.length), b2: new Adam(H) };
  const order = new Uint32Array(train.n).map((_, i) => i);
  const h = new Float64Array(Hd);
  const dh = new Float64Array(Hd);
  const dy = new Float64Array(H);
  let best = { loss: Infinity, params: cloneParams(p) };
  let sinceBest = 0;
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    rng.shuffle(order);
    let trainLoss = 0;
    for (let start = 0; start < train.n; start += o.batchSize) {
      const end = Math.min(train.n, start + o.batchSize);
      g.w1.fill(0);
      g.b1.fill(0);
      g.w2.fill(0);
      g.b2.fill(0);
      const scale = 2 / ((end - start) * H);
      for (let b = start; b < end; b++) {
        const i = order[b]!;
        const at = i * F;
        forwardHidden(p, zt, at, F, Hd, h);
        for (let out = 0; out < H; out++) {
          let y = p.b2[out]!;
          for (let k = 0; k < Hd; k++) y += h[k]! * p.w2[k * H + out]!;
          const e = y - train.y[i * H + out]!;
          if (o.loss === 'mae') {
            trainLoss += Math.abs(e);
            dy[out] = (e > 0 ? 0.5 : e < 0 ? -0.5 : 0) * scale;
          } else {
            trainLoss += e * e;
            dy[out] = e * scale;
          }
        }
        dh.fill(0);
        for (let k = 0; k < Hd; k++) {
          const hk = h[k]!;
          const row = k * H;
          let acc = 0;
          for (let out = 0; out < H; out++) {
            g.w2[row + out]! += hk * dy[out]!;
            acc += p.w2[row + out]! * dy[out]!;
          }
          dh[k] = hk > 0 ? acc : 0;
        }
        for (let out = 0; out < H; out++) g.b2[out]! += dy[out]!;
        for (let k = 0; k < Hd; k++) g.b1[k]! += dh[k]!;
        for (let j = 0; j < F; j++) {
          const zj = zt[at + j]!;
          if (zj === 0) continue;
          const row = j * Hd;
          for (let k = 0; k < Hd; k++) g.w1[row + k]! += zj * dh[k]!;
        }
      }
      opt.w1.step(p.w1, g.w1, o.learningRate, o.weightDecay);
      opt.w2.step(p.w2, g.w2, o.learningRate, o.weightDecay);
      opt.b1.step(p.b1, g.b1, o.learningRate, 0);
      opt.b2.step(p.b2, g.b2, o.learningRate, 0);
    }
    const validationLoss = validation.n > 0 ? meanLoss(p, zv, validation, Hd, o.loss) : trainLoss / (train.n * H);
    onEpoch?.({ epoch, epochs: o.epochs, trainLoss: trainLoss / (train.n * H), validationLoss });
    if (validationLoss < best.loss) {
      best = { loss: validationLoss, params: cloneParams(p) };
      sinceBest = 0;
    } else if (++sinceBest >= o.patience) break;
  }
  return best.params;
}

function cloneParams(p: Params): Params {
  return { w1: Float64Array.from(p.w1), b1: Float64Array.from(p.b1), w2: Float64Array.from(p.w2), b2: Float64Array.from(p.b2) };
}

/**
 * Trains `members` networks (seeds seed, seed+1, ...) and merges them into one network whose
 * output is their mean.
 */
export function trainMlp(
  train: Dataset,
  validation: Dataset,
  std: { mean: Float64Array; invStd: Float64Array },
  options: MlpOptions,
  members: number,
  onEpoch?: (member: number, p: MlpProgress) => void,
): DenseNetwork {
  const trained: Params[] = [];
  for (let m = 0; m < members; m++) trained.push(trainMember(train, validation, std, { ...options, seed: options.seed + m }, (p) => onEpoch?.(m, p)));
  const F = train.featureCount;
  const H = train.steps;
  const Hd = options.hidden;
  const wide = Hd * members;
  const w1 = new Float64Array(F * wide);
  const b1 = new Float64Array(wide);
  const w2 = new Float64Array(wide * H);
  const b2 = new Float64Array(H);
  trained.forEach((p, m) => {
    for (let j = 0; j < F; j++) for (let k = 0; k < Hd; k++) w1[j * wide + m * Hd + k] = p.w1[j * Hd + k]!;
    for (let k = 0; k < Hd; k++) b1[m * Hd + k] = p.b1[k]!;
    for (let k = 0; k < Hd; k++) for (let o2 = 0; o2 < H; o2++) w2[(m * Hd + k) * H + o2] = p.w2[k * H + o2]! / members;
    for (let o2 = 0; o2 < H; o2++) b2[o2]! += p.b2[o2]! / members;
  });
  return {
    featureCount: F,
    inputMean: std.mean,
    inputInvStd: std.invStd,
    layers: [
      { inSize: F, outSize: wide, weights: w1, bias: b1, activation: 'relu' },
      { inSize: wide, outSize: H, weights: w2, bias: b2, activation: 'none' },
    ],
    bandLow: new Float64Array(H),
    bandHigh: new Float64Array(H),
  };
}
