/** Writes a trained model as a folder: `model.onnx` and `card.json` naming its sha256. */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from './artifact.js';
import { CARD_FILE, ONNX_FILE, type ModelCard } from './card.js';
import { exportNetwork, OPSET_VERSION } from './onnx/index.js';
import type { FeatureSpec } from './features.js';
import { checkParity } from './parity.js';
import { formatNaive, type HourlySeries } from './series.js';
import type { TrainedModel } from './train.js';

/** Writes each file whole or not at all (temp file, then rename), card last: a half-written model never looks valid. */
function writeAtomically(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** Where to check the export against the TypeScript model: real feature rows of a period. */
export interface ParityInput {
  series: HourlySeries;
  spec: FeatureSpec;
  fromMs: number;
  toMs: number;
}

export async function writeModel(dir: string, trained: TrainedModel, parityOn?: ParityInput): Promise<ModelCard> {
  const { card } = trained;
  const onnx = exportNetwork(trained.network, {
    modelId: card.id,
    version: card.version,
    docString: card.description,
    properties: { horizon: card.horizon, kind: card.kind, featureBuilderVersion: card.features.builderVersion, trainingSha256: card.training.sha256 },
  });
  const full: ModelCard = { ...card, onnx: { file: ONNX_FILE, sha256: sha256Hex(onnx), bytes: onnx.byteLength, opset: OPSET_VERSION } };
  if (parityOn) {
    const p = await checkParity(trained.network, onnx, parityOn.series, parityOn.spec, parityOn.fromMs, parityOn.toMs);
    full.onnx.parity = { samples: p.samples, maxAbsDiff: Number(p.maxAbsDiff.toPrecision(3)), maxRelDiff: Number(p.maxRelDiff.toPrecision(3)), period: `${formatNaive(parityOn.fromMs)} .. ${formatNaive(parityOn.toMs)}` };
  }
  mkdirSync(dir, { recursive: true });
  writeAtomically(join(dir, ONNX_FILE), onnx);
  writeAtomically(join(dir, CARD_FILE), JSON.stringify(full, null, 2) + '\n');
  return full;
}
