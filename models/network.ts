/**
 * A dense feed-forward network: the one shape every gridos forecaster takes, so that training
 * (linear, MLP), the TypeScript reference forward pass and the ONNX export share one description.
 *
 *   x = (features - inputMean) * inputInvStd          (standardised features)
 *   h = act(x W1 + b1) ... W_k + b_k  [+ x S]         (last layer: no activation; S the optional skip)
 *   load = h * scale;  p10 = (h + bandLow) * scale;  p90 = (h + bandHigh) * scale
 *
 * Targets are learnt relative to `scale` (the recent level of the series, see the feature
 * builder), so one model serves a 5 MW feeder and a 20 GW region alike.
 */
export type Activation = 'relu' | 'none';

export interface DenseLayer {
  inSize: number;
  outSize: number;
  /** Row-major [inSize x outSize]: weights[i * outSize + j] links input i to output j. */
  weights: Float64Array;
  bias: Float64Array;
  activation: Activation;
}

export interface DenseNetwork {
  featureCount: number;
  /** Per-feature mean and 1/std used to standardise the input (length featureCount). */
  inputMean: Float64Array;
  inputInvStd: Float64Array;
  layers: DenseLayer[];
  /**
   * A linear path from the standardised input straight to the output, row-major
   * [featureCount x outputs]: a linear model with a neural correction on top.
   */
  skip?: Float64Array;
  /** Per-output offsets (in units of `scale`) of the 10 % and 90 % quantiles around the point forecast. */
  bandLow: Float64Array;
  bandHigh: Float64Array;
}

export interface NetworkOutput {
  load: Float64Array;
  p10: Float64Array;
  p90: Float64Array;
}

export function outputSize(net: DenseNetwork): number {
  const last = net.layers[net.layers.length - 1];
  if (!last) throw new Error('network has no layers');
  return last.outSize;
}

/** Forward pass of the standardised features through the layers, in units of scale. */
export function forwardRelative(net: DenseNetwork, features: ArrayLike<number>): Float64Array {
  const z = new Float64Array(net.featureCount);
  for (let i = 0; i < net.featureCount; i++) z[i] = ((features[i] ?? NaN) - net.inputMean[i]!) * net.inputInvStd[i]!;
  let x = z;
  for (const layer of net.layers) {
    const y = Float64Array.from(layer.bias);
    const { inSize, outSize, weights } = layer;
    for (let i = 0; i < inSize; i++) {
      const xi = x[i]!;
      if (xi === 0) continue;
      const row = i * outSize;
      for (let j = 0; j < outSize; j++) y[j]! += xi * weights[row + j]!;
    }
    if (layer.activation === 'relu') for (let j = 0; j < outSize; j++) if (y[j]! < 0) y[j] = 0;
    x = y;
  }
  if (net.skip) {
    const outSize = x.length;
    for (let i = 0; i < net.featureCount; i++) {
      const zi = z[i]!;
      if (zi === 0) continue;
      for (let j = 0; j < outSize; j++) x[j]! += zi * net.skip[i * outSize + j]!;
    }
  }
  return x;
}

/** The TypeScript reference of what the exported ONNX graph computes, in float64. */
export function predict(net: DenseNetwork, features: ArrayLike<number>, scale: number): NetworkOutput {
  const h = forwardRelative(net, features);
  const n = h.length;
  const load = new Float64Array(n);
  const p10 = new Float64Array(n);
  const p90 = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    load[j] = h[j]! * scale;
    p10[j] = (h[j]! + net.bandLow[j]!) * scale;
    p90[j] = (h[j]! + net.bandHigh[j]!) * scale;
  }
  return { load, p10, p90 };
}
