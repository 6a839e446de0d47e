/**
 * Reads what an ONNX file declares (IR and opset versions, producer, inputs and outputs,
 * operators, metadata, parameter count) without running it: what `gridos model verify`
 * shows and checks before a model is loaded. Never throws: bytes that are not an ONNX model
 * give an OnnxError, so a caller can report the file and carry on.
 */
import { OnnxError, type OnnxResult } from './errors.js';
import { ModelProtoType, toNumber, type WireModel, type WireTensor, type WireValueInfo } from './schema.js';

/** A dimension: its size, or the name of a size known at run time (e.g. 'batch'); '?' when neither is given. */
export type OnnxDim = number | string;

export interface OnnxValue {
  name: string;
  /** Element type as ONNX names it in lower case ('float', 'int64', ...), or 'type<N>' for others. */
  elemType: string;
  shape: OnnxDim[];
}

export interface OnnxInfo {
  irVersion: number;
  /** Version of the standard ("" or "ai.onnx") operator set the model imports. */
  opset: number;
  producer: { name: string; version: string };
  docString: string;
  graphName: string;
  /** Graph inputs a caller feeds, without the initializers old IR versions also listed as inputs. */
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  /** Node count per operator; operators of other domains are keyed 'domain.OpType'. */
  ops: Record<string, number>;
  metadata: Record<string, string>;
  initializerCount: number;
  /** Elements across all initializers: weights, biases and normalisation constants. */
  parameterCount: number;
}

// TensorProto.DataType of the ONNX specification: name and size in bytes of one element.
const ELEMENT_TYPES: Record<number, [string, number]> = {
  1: ['float', 4], 2: ['uint8', 1], 3: ['int8', 1], 4: ['uint16', 2], 5: ['int16', 2], 6: ['int32', 4],
  7: ['int64', 8], 9: ['bool', 1], 10: ['float16', 2], 11: ['double', 8], 12: ['uint32', 4], 13: ['uint64', 8], 16: ['bfloat16', 2],
};

export function inspectOnnx(bytes: Uint8Array): OnnxResult<OnnxInfo> {
  let model: WireModel;
  try {
    model = ModelProtoType.decode(bytes) as unknown as WireModel;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return { ok: false, error: new OnnxError('MODEL_ONNX_MALFORMED', `not an ONNX model (${bytes.length} bytes): ${why}`) };
  }
  try {
    return { ok: true, value: describe(model, bytes.length) };
  } catch (e) {
    if (e instanceof OnnxError) return { ok: false, error: e };
    return { ok: false, error: new OnnxError('MODEL_ONNX_MALFORMED', `not an ONNX model (${bytes.length} bytes): ${String(e)}`) };
  }
}

function describe(model: WireModel, size: number): OnnxInfo {
  const irVersion = toNumber(model.irVersion);
  if (irVersion < 1) malformed(`not an ONNX model (${size} bytes): no ir_version`);
  const graph = model.graph;
  if (!graph) malformed(`not an ONNX model (${size} bytes): no graph`);
  const standard = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!standard) malformed('the model imports no version of the standard operator set');

  const initializers = graph.initializer ?? [];
  const initializerNames = new Set(initializers.map((t) => t.name ?? ''));
  const outputs = (graph.output ?? []).map((v) => value(v, 'output'));
  if (outputs.length === 0) malformed('the graph has no outputs');

  const ops: Record<string, number> = {};
  for (const node of graph.node ?? []) {
    if (!node.opType) malformed(`node '${node.name ?? ''}' has no op_type`);
    const key = !node.domain || node.domain === 'ai.onnx' ? node.opType : `${node.domain}.${node.opType}`;
    ops[key] = (ops[key] ?? 0) + 1;
  }
  const metadata: Record<string, string> = {};
  for (const { key, value: v } of model.metadataProps ?? []) if (key) metadata[key] = v ?? '';

  return {
    irVersion,
    opset: toNumber(standard.version),
    producer: { name: model.producerName ?? '', version: model.producerVersion ?? '' },
    docString: model.docString ?? '',
    graphName: graph.name ?? '',
    inputs: (graph.input ?? []).filter((v) => !initializerNames.has(v.name ?? '')).map((v) => value(v, 'input')),
    outputs,
    ops,
    metadata,
    initializerCount: initializers.length,
    parameterCount: initializers.reduce((n, t) => n + elementCount(t), 0),
  };
}

function value(v: WireValueInfo, what: string): OnnxValue {
  if (!v.name) malformed(`a graph ${what} has no name`);
  const tensor = v.type?.tensorType;
  if (!tensor) throw new OnnxError('MODEL_ONNX_UNSUPPORTED', `graph ${what} '${v.name}' is not a tensor`);
  const shape = (tensor.shape?.dim ?? []).map((d): OnnxDim => (d.dimParam ? d.dimParam : d.dimValue != null ? toNumber(d.dimValue) : '?'));
  return { name: v.name, elemType: elementType(tensor.elemType ?? 0), shape };
}

function elementType(code: number): string {
  return ELEMENT_TYPES[code]?.[0] ?? `type${code}`;
}

/** Also checks that raw bytes, when used, hold exactly the declared elements: a cut-short weight is a broken file. */
function elementCount(t: WireTensor): number {
  const dims = (t.dims ?? []).map(toNumber);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) malformed(`initializer '${t.name ?? ''}' has invalid dims [${dims.join(', ')}]`);
  const count = dims.reduce((n, d) => n * d, 1);
  if (!Number.isSafeInteger(count)) malformed(`initializer '${t.name ?? ''}' dims [${dims.join(', ')}] hold more elements than any file can`);
  const width = ELEMENT_TYPES[t.dataType ?? 0]?.[1];
  if (t.rawData && t.rawData.length > 0 && width !== undefined && t.rawData.length !== count * width) {
    malformed(`initializer '${t.name ?? ''}' holds ${t.rawData.length} bytes, its dims [${dims.join(', ')}] need ${count * width}`);
  }
  return count;
}

function malformed(message: string): never {
  throw new OnnxError('MODEL_ONNX_MALFORMED', message);
}
