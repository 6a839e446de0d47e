/**
 * Writes a DenseNetwork as a self-contained ONNX model that computes what `predict()` computes,
 * in float32, from standard operators only:
 *
 *   features [batch, F], scale [batch, 1]
 *   x = (features - input_mean) * input_inv_std                    Sub, Mul
 *   h = act(x W1 + b1) ... W_k + b_k                               Gemm (+ Relu) per layer
 *   h = h + x S           (when the network has a skip path)       MatMul, Add
 *   load = h * scale;  p10 = (h + band_low) * scale;  p90 = (h + band_high) * scale
 *
 * Gemm rather than MatMul + Add: one node per layer whatever the runtime's optimiser does,
 * and its default attributes (alpha = beta = 1, no transposes) are exactly x W + b with W in
 * DenseLayer's row-major [inSize x outSize] layout, so no attribute is written.
 *
 * Opset 13: the oldest operator set in which every operator used here has its current
 * definition, so the file loads in any onnxruntime since 1.7 (onnxruntime-node 1.30 runs
 * opsets up to the 20s) and in other small edge runtimes that lag the newest opsets.
 */
import { outputSize, type DenseNetwork } from '../network.js';
import { OnnxError } from './errors.js';
import { DataType, IR_VERSION, ModelProtoType, type WireModel, type WireNode, type WireTensor, type WireValueInfo } from './schema.js';

export const OPSET_VERSION = 13;
export const PRODUCER_NAME = 'gridos';
/** gridos's version (package.json; a test keeps the two equal). */
export const PRODUCER_VERSION = '0.1.0';

/** Names of the graph's inputs and outputs: the contract with whoever runs the model. */
export const INPUT_FEATURES = 'features';
export const INPUT_SCALE = 'scale';
export const OUTPUT_NAMES = ['load', 'p10', 'p90'] as const;
/** The symbolic batch dimension of every input and output. */
export const BATCH_DIM = 'batch';
/** Metadata keys the exporter owns; `properties` may not reuse them. */
export const META_MODEL_ID = 'modelId';
export const META_VERSION = 'version';

export interface ExportMeta {
  modelId: string;
  version: string;
  docString?: string;
  properties?: Record<string, string>;
}

const FLOAT32_MAX = 3.4028234663852886e38;

/** Serialises `net` as ONNX. Throws an OnnxError (MODEL_NETWORK_INVALID) for an inconsistent network or metadata. */
export function exportNetwork(net: DenseNetwork, meta: ExportMeta): Uint8Array {
  checkNetwork(net);
  const metadataProps = metadataEntries(meta);
  const g = new GraphBuilder();

  const centred = g.op('Sub', [INPUT_FEATURES, g.constant('input_mean', [net.featureCount], net.inputMean)], 'x_centred');
  const x = g.op('Mul', [centred, g.constant('input_inv_std', [net.featureCount], net.inputInvStd)], 'x');
  let h = x;
  net.layers.forEach((layer, k) => {
    const w = g.constant(`layer${k}.weight`, [layer.inSize, layer.outSize], layer.weights);
    const b = g.constant(`layer${k}.bias`, [layer.outSize], layer.bias);
    h = g.op('Gemm', [h, w, b], `layer${k}.linear`);
    if (layer.activation === 'relu') h = g.op('Relu', [h], `layer${k}.relu`);
  });

  const outSize = outputSize(net);
  if (net.skip) h = g.op('Add', [h, g.op('MatMul', [x, g.constant('skip.weight', [net.featureCount, outSize], net.skip)], 'skip.linear')], 'h_with_skip');
  const [load, p10, p90] = OUTPUT_NAMES;
  g.op('Mul', [h, INPUT_SCALE], load);
  g.op('Mul', [g.op('Add', [h, g.constant('band_low', [outSize], net.bandLow)], 'h_low'), INPUT_SCALE], p10);
  g.op('Mul', [g.op('Add', [h, g.constant('band_high', [outSize], net.bandHigh)], 'h_high'), INPUT_SCALE], p90);

  const model: WireModel = {
    irVersion: IR_VERSION,
    producerName: PRODUCER_NAME,
    producerVersion: PRODUCER_VERSION,
    ...(meta.docString ? { docString: meta.docString } : {}),
    opsetImport: [{ domain: '', version: OPSET_VERSION }],
    metadataProps,
    graph: {
      name: meta.modelId,
      node: g.nodes,
      initializer: g.initializers,
      input: [floatInfo(INPUT_FEATURES, [BATCH_DIM, net.featureCount]), floatInfo(INPUT_SCALE, [BATCH_DIM, 1])],
      output: OUTPUT_NAMES.map((name) => floatInfo(name, [BATCH_DIM, outSize])),
    },
  };
  const problem = ModelProtoType.verify(model);
  if (problem) throw new OnnxError('MODEL_NETWORK_INVALID', `exported model does not fit the ONNX schema: ${problem}`);
  return ModelProtoType.encode(model).finish();
}

/** Collects nodes and initializers in the order they are added, which is topological. */
class GraphBuilder {
  readonly nodes: WireNode[] = [];
  readonly initializers: WireTensor[] = [];

  /** Adds a node whose single output is named `output` (also used as the node's name). */
  op(opType: string, input: string[], output: string): string {
    this.nodes.push({ name: output, opType, input, output: [output] });
    return output;
  }

  constant(name: string, dims: number[], values: ArrayLike<number>): string {
    this.initializers.push({ name, dims, dataType: DataType.FLOAT, rawData: float32LittleEndian(values) });
    return name;
  }
}

/** raw_data is little-endian whatever the host: DataView says so explicitly. */
function float32LittleEndian(values: ArrayLike<number>): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return bytes;
}

function floatInfo(name: string, dims: (number | string)[]): WireValueInfo {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim } } } };
}

function metadataEntries(meta: ExportMeta): { key: string; value: string }[] {
  if (!meta.modelId) invalid('meta.modelId is empty');
  if (!meta.version) invalid('meta.version is empty');
  const entries = [
    { key: META_MODEL_ID, value: meta.modelId },
    { key: META_VERSION, value: meta.version },
  ];
  for (const [key, value] of Object.entries(meta.properties ?? {})) {
    if (key === META_MODEL_ID || key === META_VERSION) invalid(`meta.properties may not set '${key}': it comes from meta.${key}`);
    entries.push({ key, value });
  }
  return entries;
}

function checkNetwork(net: DenseNetwork): void {
  const f = net.featureCount;
  if (!Number.isInteger(f) || f < 1) invalid(`featureCount ${f} is not a positive integer`);
  checkVector('inputMean', net.inputMean, f);
  checkVector('inputInvStd', net.inputInvStd, f);
  if (net.layers.length === 0) invalid('network has no layers');
  let inSize = f;
  net.layers.forEach((layer, k) => {
    if (layer.inSize !== inSize) invalid(`layer ${k} takes ${layer.inSize} inputs but receives ${inSize}`);
    if (!Number.isInteger(layer.outSize) || layer.outSize < 1) invalid(`layer ${k} outSize ${layer.outSize} is not a positive integer`);
    if (layer.activation !== 'relu' && layer.activation !== 'none') invalid(`layer ${k} has unknown activation '${String(layer.activation)}'`);
    checkVector(`layer ${k} weights`, layer.weights, layer.inSize * layer.outSize);
    checkVector(`layer ${k} bias`, layer.bias, layer.outSize);
    inSize = layer.outSize;
  });
  if (net.skip) checkVector('skip', net.skip, f * inSize);
  checkVector('bandLow', net.bandLow, inSize);
  checkVector('bandHigh', net.bandHigh, inSize);
}

/** A value beyond float32's range would be stored as Infinity: refuse it rather than ship a model that outputs Infinity. */
function checkVector(what: string, v: ArrayLike<number>, length: number): void {
  if (v.length !== length) invalid(`${what} has ${v.length} values, expected ${length}`);
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (!Number.isFinite(x) || Math.abs(x) > FLOAT32_MAX) invalid(`${what}[${i}] = ${x} is not a finite float32`);
  }
}

function invalid(message: string): never {
  throw new OnnxError('MODEL_NETWORK_INVALID', message);
}
