/**
 * Ridge regression, one linear model per target hour (solved together: they share X): the
 * "per-hour linear" model on all of a dataset's features. Training chooses feature groups and
 * the penalty by cross-validation (selection.ts); this is the same solver on one block.
 */
import { standardisation, type Dataset } from './dataset.js';
import type { DenseNetwork } from './network.js';
import { LinearSelection } from './selection.js';

export { choleskySolve } from './cholesky.js';

/** A dataset with its standardisation, ready to fit at any penalty. */
export interface Moments {
  selection: LinearSelection;
}

export function moments(d: Dataset, std = standardisation(d)): Moments {
  // every feature in the base group: nothing is left out
  return { selection: new LinearSelection(d, std, Array.from({ length: d.featureCount }, (_, j) => `x${j}`), 1) };
}

/** The ridge solution for `penalty` (relative to the sample count) as a one-layer network. */
export function ridge(m: Moments, penalty: number): DenseNetwork {
  return m.selection.fit([], penalty);
}
