/**
 * Choosing the linear model's feature groups and ridge penalty by blocked cross-validation: the
 * training samples are cut into contiguous blocks (time order kept), each block is forecast by
 * a model fitted on the others, and the choice with the lowest mean MAPE wins. On a short
 * history (one year of a city feeder) fewer features often forecast better; on a long one, all
 * of them: the data decides, the same way for any series.
 *
 * Sums of the standardised features are accumulated once per block; a candidate's fit on the
 * other blocks adds them up and masks the features it leaves out, so every candidate costs one
 * small linear solve, not a pass over the data.
 */
import type { Dataset } from './dataset.js';
import { choleskySolve } from './cholesky.js';
import type { DenseNetwork } from './network.js';

/** The feature groups a linear model may leave out; the load lags, day of week and hour of day always stay. */
export const OPTIONAL_GROUPS = ['holidays', 'season', 'temperature'] as const;
export type FeatureGroup = (typeof OPTIONAL_GROUPS)[number];

export function groupOf(name: string): FeatureGroup | 'base' {
  if (name.startsWith('holiday')) return 'holidays';
  if (name.startsWith('doy_')) return 'season';
  if (name.startsWith('temp_')) return 'temperature';
  return 'base';
}

/** Sums over samples of z (standardised features) and y (relative targets). */
interface Sums {
  n: number;
  z: Float64Array;
  y: Float64Array;
  zz: Float64Array;
  zy: Float64Array;
}

function emptySums(F: number, H: number): Sums {
  return { n: 0, z: new Float64Array(F), y: new Float64Array(H), zz: new Float64Array(F * F), zy: new Float64Array(F * H) };
}

function accumulate(d: Dataset, from: number, to: number, std: { mean: Float64Array; invStd: Float64Array }): Sums {
  const F = d.featureCount;
  const H = d.steps;
  const s = emptySums(F, H);
  const z = new Float64Array(F);
  for (let i = from; i < to; i++) {
    s.n++;
    for (let j = 0; j < F; j++) z[j] = (d.x[i * F + j]! - std.mean[j]!) * std.invStd[j]!;
    for (let h = 0; h < H; h++) s.y[h]! += d.y[i * H + h]!;
    for (let j = 0; j < F; j++) {
      const zj = z[j]!;
      if (zj === 0) continue;
      s.z[j]! += zj;
      const row = j * F;
      for (let k = j; k < F; k++) s.zz[row + k]! += zj * z[k]!;
      for (let h = 0; h < H; h++) s.zy[j * H + h]! += zj * d.y[i * H + h]!;
    }
  }
  return s;
}

function add(into: Sums, s: Sums): void {
  into.n += s.n;
  for (let i = 0; i < into.z.length; i++) into.z[i]! += s.z[i]!;
  for (let i = 0; i < into.y.length; i++) into.y[i]! += s.y[i]!;
  for (let i = 0; i < into.zz.length; i++) into.zz[i]! += s.zz[i]!;
  for (let i = 0; i < into.zy.length; i++) into.zy[i]! += s.zy[i]!;
}

/** Ridge with an intercept on the features `keep` marks, from sums: weights [F x H] (0 for the others) and biases. */
function solve(s: Sums, keep: readonly boolean[], penalty: number): { w: Float64Array; b: Float64Array } {
  const F = s.z.length;
  const H = s.y.length;
  const n = Math.max(1, s.n);
  const a = new Float64Array(F * F);
  const w = new Float64Array(F * H);
  for (let j = 0; j < F; j++) {
    for (let k = j; k < F; k++) {
      const v = keep[j] && keep[k] ? s.zz[j * F + k]! - (s.z[j]! * s.z[k]!) / n : 0;
      a[j * F + k] = v;
      a[k * F + j] = v;
    }
    a[j * F + j]! += keep[j] ? penalty * n : 1;
    for (let h = 0; h < H; h++) w[j * H + h] = keep[j] ? s.zy[j * H + h]! - (s.z[j]! * s.y[h]!) / n : 0;
  }
  choleskySolve(a, F, w, H);
  const b = new Float64Array(H);
  for (let h = 0; h < H; h++) {
    let v = s.y[h]! / n;
    for (let j = 0; j < F; j++) v -= (s.z[j]! / n) * w[j * H + h]!;
    b[h] = v;
  }
  return { w, b };
}

/** Mean absolute percentage error of a fit on rows [from, to) of `d`, in percent. */
function blockMape(d: Dataset, from: number, to: number, std: { mean: Float64Array; invStd: Float64Array }, fit: { w: Float64Array; b: Float64Array }): number {
  const F = d.featureCount;
  const H = d.steps;
  const z = new Float64Array(F);
  let ape = 0;
  let n = 0;
  for (let i = from; i < to; i++) {
    for (let j = 0; j < F; j++) z[j] = (d.x[i * F + j]! - std.mean[j]!) * std.invStd[j]!;
    for (let h = 0; h < H; h++) {
      let yhat = fit.b[h]!;
      for (let j = 0; j < F; j++) if (z[j] !== 0) yhat += z[j]! * fit.w[j * H + h]!;
      const y = d.y[i * H + h]!;
      if (y !== 0) {
        ape += Math.abs((yhat - y) / y);
        n++;
      }
    }
  }
  return n > 0 ? (100 * ape) / n : Infinity;
}

export interface LinearChoice {
  groups: FeatureGroup[];
  penalty: number;
  /** Mean MAPE over the held-out blocks, in percent. */
  cvMape: number;
}

export interface ChoiceOptions {
  penalties: readonly number[];
  folds: number;
  /** Feature group sets to try; each is added to the base (lags, day of week, hour of day). */
  candidates: readonly (readonly FeatureGroup[])[];
}

export class LinearSelection {
  private readonly blocks: Sums[] = [];
  private readonly bounds: [number, number][] = [];

  constructor(
    private readonly d: Dataset,
    private readonly std: { mean: Float64Array; invStd: Float64Array },
    private readonly names: readonly string[],
    folds: number,
  ) {
    for (let k = 0; k < folds; k++) {
      const from = Math.floor((k * d.n) / folds);
      const to = Math.floor(((k + 1) * d.n) / folds);
      this.bounds.push([from, to]);
      this.blocks.push(accumulate(d, from, to, std));
    }
  }

  keepOf(groups: readonly FeatureGroup[]): boolean[] {
    return this.names.map((name) => {
      const g = groupOf(name);
      return g === 'base' || groups.includes(g);
    });
  }

  /** Mean MAPE of each held-out block forecast by the other blocks' fit. */
  score(groups: readonly FeatureGroup[], penalty: number): number {
    const keep = this.keepOf(groups);
    let total = 0;
    for (let k = 0; k < this.blocks.length; k++) {
      const rest = emptySums(this.d.featureCount, this.d.steps);
      this.blocks.forEach((b, i) => i !== k && add(rest, b));
      const [from, to] = this.bounds[k]!;
      total += blockMape(this.d, from, to, this.std, solve(rest, keep, penalty));
    }
    return total / this.blocks.length;
  }

  choose(o: ChoiceOptions): LinearChoice {
    let best: LinearChoice | undefined;
    for (const groups of o.candidates) {
      for (const penalty of o.penalties) {
        const cvMape = this.score(groups, penalty);
        if (!best || cvMape < best.cvMape) best = { groups: [...groups], penalty, cvMape };
      }
    }
    return best!;
  }

  /** The chosen model fitted on all blocks, as a one-layer network (left-out features weigh 0). */
  fit(groups: readonly FeatureGroup[], penalty: number, blocks: readonly number[] = this.blocks.map((_, i) => i)): DenseNetwork {
    const all = emptySums(this.d.featureCount, this.d.steps);
    for (const i of blocks) add(all, this.blocks[i]!);
    const keep = this.keepOf(groups);
    const { w, b } = solve(all, keep, penalty);
    const H = this.d.steps;
    return {
      featureCount: this.d.featureCount,
      inputMean: this.std.mean,
      inputInvStd: this.std.invStd.map((v, j) => (keep[j] ? v : 0)),
      layers: [{ inSize: this.d.featureCount, outSize: H, weights: w, bias: b, activation: 'none' }],
      bandLow: new Float64Array(H),
      bandHigh: new Float64Array(H),
    };
  }
}

/** Every subset of the optional groups the features have. */
export function candidateGroups(names: readonly string[]): FeatureGroup[][] {
  const present = OPTIONAL_GROUPS.filter((g) => names.some((n) => groupOf(n) === g));
  const out: FeatureGroup[][] = [];
  for (let mask = 0; mask < 1 << present.length; mask++) out.push(present.filter((_, i) => (mask & (1 << i)) !== 0));
  return out;
}
