/** Cholesky factorisation and solve, for the normal equations of ridge regression. */
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
