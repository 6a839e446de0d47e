import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predict, type Activation, type DenseNetwork } from '../../models/network.js';
import { OnnxError, PRODUCER_VERSION, exportNetwork, inspectOnnx, type OnnxInfo } from '../../models/onnx/index.js';
import { ModelProtoType, type WireModel } from '../../models/onnx/schema.js';

// One thread, no spinning: how the edge runs a forecaster next to ingestion on a small CPU.
// `extra` is flattened by onnxruntime-node into session config entries ("session.intra_op.allow_spinning" = "0").
const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
};

/** mulberry32: a small seeded PRNG, so every run builds the same networks and inputs. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

interface Shape {
  name: string;
  sizes: number[];
  activations: Activation[];
  seed: number;
  /** A linear path from the standardised input to the output beside the layers. */
  skip?: boolean;
}

const SHAPES: Shape[] = [
  { name: 'linear 40->24', sizes: [40, 24], activations: ['none'], seed: 1 },
  { name: 'MLP 180->64 relu->24', sizes: [180, 64, 24], activations: ['relu', 'none'], seed: 2 },
  { name: 'MLP 30->16 relu->8 relu->1', sizes: [30, 16, 8, 1], activations: ['relu', 'relu', 'none'], seed: 3 },
  { name: 'linear + MLP 185->32 relu->24 with skip', sizes: [185, 32, 24], activations: ['relu', 'none'], seed: 4, skip: true },
];

/** Weights of trained-network magnitude (He scaling), features standardised around 1 +- 0.3. */
function randomNetwork(shape: Shape): DenseNetwork {
  const rand = mulberry32(shape.seed);
  const normal = gaussian(rand);
  const featureCount = shape.sizes[0]!;
  const outSize = shape.sizes[shape.sizes.length - 1]!;
  const layers = shape.activations.map((activation, k) => {
    const inSize = shape.sizes[k]!;
    const out = shape.sizes[k + 1]!;
    const std = Math.sqrt(2 / inSize);
    return {
      inSize,
      outSize: out,
      weights: Float64Array.from({ length: inSize * out }, () => normal() * std),
      bias: Float64Array.from({ length: out }, () => 0.1 * normal()),
      activation,
    };
  });
  return {
    featureCount,
    inputMean: Float64Array.from({ length: featureCount }, () => 1 + 0.05 * normal()),
    inputInvStd: Float64Array.from({ length: featureCount }, () => 1 / (0.3 * (0.8 + 0.4 * rand()))),
    layers,
    ...(shape.skip ? { skip: Float64Array.from({ length: featureCount * outSize }, () => normal() * Math.sqrt(1 / featureCount)) } : {}),
    bandLow: Float64Array.from({ length: outSize }, () => -(0.05 + 0.1 * rand())),
    bandHigh: Float64Array.from({ length: outSize }, () => 0.05 + 0.1 * rand()),
  };
}

/** Features ~ N(1, 0.3) as float32: the reference sees exactly what the runtime sees. */
function randomFeatures(seed: number, batch: number, featureCount: number): Float32Array {
  const normal = gaussian(mulberry32(seed));
  return Float32Array.from({ length: batch * featureCount }, () => 1 + 0.3 * normal());
}

const OUTPUTS = ['load', 'p10', 'p90'] as const;

/** Largest |onnxruntime - predict()| over every row and all three outputs. */
async function maxAbsDiff(session: ort.InferenceSession, net: DenseNetwork, features: Float32Array, scale: number): Promise<number> {
  const batch = features.length / net.featureCount;
  const results = await session.run({
    features: new ort.Tensor('float32', features, [batch, net.featureCount]),
    scale: new ort.Tensor('float32', new Float32Array(batch).fill(scale), [batch, 1]),
  });
  const outSize = net.layers[net.layers.length - 1]!.outSize;
  let worst = 0;
  for (let n = 0; n < batch; n++) {
    const expected = predict(net, features.subarray(n * net.featureCount, (n + 1) * net.featureCount), scale);
    for (const name of OUTPUTS) {
      const got = results[name]!;
      expect(got.dims).toEqual([batch, outSize]);
      const data = got.data as Float32Array;
      for (let j = 0; j < outSize; j++) worst = Math.max(worst, Math.abs(data[n * outSize + j]! - expected[name][j]!));
    }
  }
  return worst;
}

const META = { modelId: 'feeder1-load-24h', version: '2025.01.1', docString: 'test network', properties: { trainedOn: 'slice-2024', horizon: '24h' } };

describe('ONNX export runs in onnxruntime-node as predict() computes', () => {
  const sessions = new Map<string, { net: DenseNetwork; bytes: Uint8Array; session: ort.InferenceSession }>();

  beforeAll(async () => {
    for (const shape of SHAPES) {
      const net = randomNetwork(shape);
      const bytes = exportNetwork(net, META);
      sessions.set(shape.name, { net, bytes, session: await ort.InferenceSession.create(bytes, SESSION_OPTIONS) });
    }
  });
  afterAll(async () => {
    for (const { session } of sessions.values()) await session.release();
  });

  for (const shape of SHAPES) {
    for (const batch of [1, 257]) {
      for (const scale of [1, 1000]) {
        it(`${shape.name}, batch ${batch}, scale ${scale}: load, p10 and p90 within 1e-4 x scale`, async ({ annotate }) => {
          const { net, session } = sessions.get(shape.name)!;
          const diff = await maxAbsDiff(session, net, randomFeatures(shape.seed * 1000 + batch, batch, net.featureCount), scale);
          await annotate(`max |onnxruntime - predict()| = ${diff.toExponential(2)} (${(diff / scale).toExponential(2)} x scale)`, 'max-abs-diff');
          expect(diff).toBeLessThanOrEqual(1e-4 * scale);
        });
      }
    }
  }

  it('onnxruntime sees the inputs and outputs the exporter declares', () => {
    for (const { session } of sessions.values()) {
      expect(session.inputNames).toEqual(['features', 'scale']);
      expect(session.outputNames).toEqual(['load', 'p10', 'p90']);
    }
  });

  it('the 180->64->24 network is well under 1 MB: weights stored as 4 bytes each, little else', () => {
    const { bytes } = sessions.get('MLP 180->64 relu->24')!;
    const info = inspected(bytes);
    expect(bytes.length).toBeLessThan(1024 * 1024);
    expect(bytes.length).toBeLessThan(info.parameterCount * 4 + 4096);
  });
});

function inspected(bytes: Uint8Array): OnnxInfo {
  const r = inspectOnnx(bytes);
  if (!r.ok) throw r.error;
  return r.value;
}

describe('inspectOnnx', () => {
  it('reads back versions, producer, inputs, outputs, metadata, op counts and parameter count', () => {
    const shape = SHAPES[2]!; // 30 -> 16 relu -> 8 relu -> 1
    const info = inspected(exportNetwork(randomNetwork(shape), META));
    expect(info).toEqual({
      irVersion: 8,
      opset: 13,
      producer: { name: 'gridos', version: PRODUCER_VERSION },
      docString: 'test network',
      graphName: 'feeder1-load-24h',
      inputs: [
        { name: 'features', elemType: 'float', shape: ['batch', 30] },
        { name: 'scale', elemType: 'float', shape: ['batch', 1] },
      ],
      outputs: [
        { name: 'load', elemType: 'float', shape: ['batch', 1] },
        { name: 'p10', elemType: 'float', shape: ['batch', 1] },
        { name: 'p90', elemType: 'float', shape: ['batch', 1] },
      ],
      // Sub + Mul standardise; Gemm (+ Relu) per layer; Add + Mul for the bands, Mul for load.
      ops: { Sub: 1, Mul: 4, Gemm: 3, Relu: 2, Add: 2 },
      metadata: { modelId: 'feeder1-load-24h', version: '2025.01.1', trainedOn: 'slice-2024', horizon: '24h' },
      // mean, inv_std, a weight and a bias per layer, two bands.
      initializerCount: 2 + 2 * 3 + 2,
      parameterCount: 2 * 30 + (30 * 16 + 16) + (16 * 8 + 8) + (8 * 1 + 1) + 2 * 1,
    });
  });

  it('a linear network has no Relu', () => {
    expect(inspected(exportNetwork(randomNetwork(SHAPES[0]!), META)).ops).toEqual({ Sub: 1, Mul: 4, Gemm: 1, Add: 2 });
  });

  it('gives MODEL_ONNX_MALFORMED, never throws, for bytes that are not an ONNX model', () => {
    const model = exportNetwork(randomNetwork(SHAPES[0]!), META);
    const rand = mulberry32(99);
    const garbage: Uint8Array[] = [
      new Uint8Array(0),
      new TextEncoder().encode('{"not": "a model"}'),
      new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
      model.subarray(0, Math.floor(model.length / 2)),
      ...Array.from({ length: 200 }, () => Uint8Array.from({ length: 1 + Math.floor(rand() * 512) }, () => Math.floor(rand() * 256))),
    ];
    for (const bytes of garbage) {
      const r = inspectOnnx(bytes);
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect(r.error).toBeInstanceOf(OnnxError);
      expect(r.error.code).toBe('MODEL_ONNX_MALFORMED');
      expect(r.error.message.length).toBeGreaterThan(0);
    }
  });

  it('gives MODEL_ONNX_MALFORMED for a weight whose raw bytes do not fill its dims', () => {
    const model = ModelProtoType.decode(exportNetwork(randomNetwork(SHAPES[0]!), META)) as unknown as WireModel;
    const weight = model.graph!.initializer!.find((t) => t.name === 'layer0.weight')!;
    weight.rawData = weight.rawData!.subarray(0, 16);
    const r = inspectOnnx(ModelProtoType.encode(model).finish());
    expect(r.ok ? null : r.error.code).toBe('MODEL_ONNX_MALFORMED');
    expect(r.ok ? '' : r.error.message).toMatch(/layer0\.weight/);
  });
});

describe('exportNetwork', () => {
  it('is deterministic: the same network gives the same bytes (artifacts are hashed)', () => {
    const net = randomNetwork(SHAPES[1]!);
    const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
    expect(sha256(exportNetwork(net, META))).toBe(sha256(exportNetwork(net, META)));
  });

  it('refuses an inconsistent network or metadata with MODEL_NETWORK_INVALID', () => {
    const good = () => randomNetwork(SHAPES[2]!);
    const cases: [string, () => unknown][] = [
      ['layer sizes that do not chain', () => exportNetwork({ ...good(), layers: good().layers.slice(1) }, META)],
      ['a NaN weight', () => {
        const net = good();
        net.layers[0]!.weights[3] = NaN;
        return exportNetwork(net, META);
      }],
      ['a weight beyond float32', () => {
        const net = good();
        net.layers[1]!.bias[0] = 1e39;
        return exportNetwork(net, META);
      }],
      ['bands of the wrong length', () => exportNetwork({ ...good(), bandLow: new Float64Array(2) }, META)],
      ['no layers', () => exportNetwork({ ...good(), layers: [] }, META)],
      ['an empty modelId', () => exportNetwork(good(), { ...META, modelId: '' })],
      ['a property overriding modelId', () => exportNetwork(good(), { ...META, properties: { modelId: 'other' } })],
    ];
    for (const [what, run] of cases) {
      let error: unknown;
      try {
        run();
      } catch (e) {
        error = e;
      }
      expect(error, what).toBeInstanceOf(OnnxError);
      expect((error as OnnxError).code, what).toBe('MODEL_NETWORK_INVALID');
    }
  });

  it('writes the producer version gridos ships as (package.json)', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(PRODUCER_VERSION).toBe(pkg.version);
  });
});

describe('onnxruntime-node session options', () => {
  it('reads `extra` (not ignored): a non-string entry is refused by the binding', async () => {
    const bytes = exportNetwork(randomNetwork(SHAPES[0]!), META);
    const bad = { ...SESSION_OPTIONS, extra: { session: { intra_op: { allow_spinning: 0 } } } };
    await expect(ort.InferenceSession.create(bytes, bad)).rejects.toThrow(/extra value must be a string/);
  });
});
