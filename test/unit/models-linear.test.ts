/** Ridge regression and the Cholesky solver under it, on systems whose answer is known. */
import { describe, expect, it } from 'vitest';
import type { Dataset } from '../../models/dataset.js';
import { choleskySolve, moments, ridge } from '../../models/linear.js';
import { forwardRelative } from '../../models/network.js';
import { Random } from '../../models/random.js';

describe('choleskySolve', () => {
  it('solves A X = B for a known symmetric positive definite A and two right-hand sides', () => {
    // A = L L' with L = [[2,0,0],[6,1,0],[-8,5,3]]
    const a = Float64Array.of(4, 12, -16, 12, 37, -43, -16, -43, 98);
    const x = [
      [1, -1],
      [2, 0],
      [3, 2],
    ];
    const b = new Float64Array(6);
    for (let i = 0; i < 3; i++) for (let c = 0; c < 2; c++) for (let k = 0; k < 3; k++) b[i * 2 + c]! += a[i * 3 + k]! * x[k]![c]!;
    choleskySolve(a, 3, b, 2);
    for (let i = 0; i < 3; i++) for (let c = 0; c < 2; c++) expect(b[i * 2 + c]).toBeCloseTo(x[i]![c]!, 10);
    // A itself is left as it was
    expect(Array.from(a)).toEqual([4, 12, -16, 12, 37, -43, -16, -43, 98]);
  });

  it('refuses a matrix that is not positive definite', () => {
    expect(() => choleskySolve(Float64Array.of(1, 2, 2, 1), 2, Float64Array.of(1, 1), 1)).toThrow(/not positive definite/);
  });
});

/** n rows of F features ~ U(0, 10), the last one constant; y_h = sum_j w[j][h] x_j + b_h exactly. */
function linearData(n: number, F: number, H: number, w: number[][], b: number[]): Dataset {
  const rng = new Random(7);
  const x = new Float64Array(n * F);
  const y = new Float64Array(n * H);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < F; j++) x[i * F + j] = j === F - 1 ? 3 : 10 * rng.next();
    for (let h = 0; h < H; h++) {
      let v = b[h]!;
      for (let j = 0; j < F; j++) v += w[j]![h]! * x[i * F + j]!;
      y[i * H + h] = v;
    }
  }
  return { featureCount: F, steps: H, n, x, y, scale: new Float64Array(n).fill(1), issueMs: new Float64Array(n), skipped: 0 };
}

describe('ridge', () => {
  const w = [
    [2, -1],
    [0.5, 0],
    [-3, 4],
    [0, 0], // the constant feature: carries nothing
  ];
  const b = [7, -2];

  it('recovers y = X w + b from exact data with a tiny penalty, on rows it did not see too', () => {
    const d = linearData(300, 4, 2, w, b);
    const net = ridge(moments(d), 1e-12);
    expect(net.layers).toHaveLength(1);
    expect(net.layers[0]!.activation).toBe('none');
    // rows it has not seen: the training rows shifted off the grid they were drawn on
    const fresh = linearData(50, 4, 2, w, b);
    for (let i = 0; i < fresh.n; i++) {
      const row = Float64Array.from(fresh.x.subarray(i * 4, i * 4 + 4)).map((v, j) => (j === 3 ? v : v + 0.37 * (i % 5)));
      const out = forwardRelative(net, row);
      for (let h = 0; h < 2; h++) {
        const want = b[h]! + row.reduce((s, v, j) => s + w[j]![h]! * v, 0);
        expect(out[h]).toBeCloseTo(want, 6);
      }
    }
    // weights back in the units of the raw features: w_j = weight_j * invStd_j
    const layer = net.layers[0]!;
    for (let j = 0; j < 3; j++) for (let h = 0; h < 2; h++) expect(layer.weights[j * 2 + h]! * net.inputInvStd[j]!).toBeCloseTo(w[j]![h]!, 6);
    expect(net.inputInvStd[3]).toBe(0);
    expect(layer.weights[3 * 2]).toBe(0);
    expect(layer.weights[3 * 2 + 1]).toBe(0);
  });

  it('a large penalty shrinks the weights towards zero and the forecast towards the mean target', () => {
    const d = linearData(300, 4, 2, w, b);
    const small = ridge(moments(d), 1e-6).layers[0]!.weights;
    const large = ridge(moments(d), 1e3).layers[0]!.weights;
    const norm = (a: Float64Array): number => Math.hypot(...a);
    expect(norm(large)).toBeLessThan(norm(small) / 100);
    let yMean = 0;
    for (let i = 0; i < d.n; i++) yMean += d.y[i * 2]! / d.n;
    expect(ridge(moments(d), 1e3).layers[0]!.bias[0]).toBeCloseTo(yMean, 9);
  });
});
