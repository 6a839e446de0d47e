/**
 * `gridos model verify`: is this folder a model the edge will load? The card parses, the `.onnx`
 * hashes to what the card says, the file is an ONNX model whose inputs and outputs are the ones
 * the card declares, its feature list is the one this feature builder makes, and onnxruntime
 * opens it. Each failed check is reported with its code; nothing throws.
 */
import { loadModel, type ModelArtifact, type ModelProblem } from './artifact.js';
import { calendarOfCard, NO_HOLIDAYS } from './calendar.js';
import { FEATURE_BUILDER_VERSION, featureNames } from './features.js';
import { inspectOnnx, type OnnxInfo } from './onnx/index.js';
import { ModelSession } from './session.js';

export interface Verification {
  ok: boolean;
  dir: string;
  model?: { id: string; version: string; horizon: string; kind: string; sha256: string; bytes: number; parameters: number };
  problems: ModelProblem[];
  onnx?: OnnxInfo;
}

export function checkArtifact(model: ModelArtifact): { info?: OnnxInfo; problems: ModelProblem[] } {
  const problems: ModelProblem[] = [];
  const { card } = model;
  const inspected = inspectOnnx(model.onnx);
  if (!inspected.ok) return { problems: [{ code: 'MODEL_ONNX_MALFORMED', message: inspected.error.message }] };
  const info = inspected.value;
  const want = (name: string, shape: (number | string)[], got: { name: string; shape: (number | string)[] }[]): void => {
    const g = got.find((v) => v.name === name);
    if (!g || JSON.stringify(g.shape) !== JSON.stringify(shape)) {
      problems.push({ code: 'MODEL_CARD_INVALID', message: `the card declares ${name} ${JSON.stringify(shape)} but the .onnx has ${g ? JSON.stringify(g.shape) : 'no such value'}` });
    }
  };
  for (const i of card.inputs) want(i.name, i.shape, info.inputs);
  for (const o of card.outputs) want(o.name, o.shape, info.outputs);
  if (card.features.builderVersion.split('.')[0] !== FEATURE_BUILDER_VERSION.split('.')[0]) {
    problems.push({ code: 'MODEL_CARD_INVALID', message: `the model was trained with feature builder ${card.features.builderVersion}; this gridos builds features with ${FEATURE_BUILDER_VERSION}` });
  } else {
    if (!calendarOfCard(card.features.holidays)) problems.push({ code: 'MODEL_CARD_INVALID', message: `the card names the holiday calendar '${card.features.holidays.name}', which this gridos does not know and the card does not list` });
    const names = featureNames({ horizon: card.horizon, withTemperature: card.features.withTemperature, calendar: NO_HOLIDAYS });
    if (JSON.stringify(names) !== JSON.stringify(card.features.names)) problems.push({ code: 'MODEL_CARD_INVALID', message: `the card's feature list (${card.features.names.length}) is not the one the feature builder makes for it (${names.length})` });
  }
  if (info.metadata.modelId !== card.id || info.metadata.version !== card.version) {
    problems.push({ code: 'MODEL_CARD_INVALID', message: `the .onnx says it is ${info.metadata.modelId}@${info.metadata.version}, the card ${card.id}@${card.version}` });
  }
  return { info, problems };
}

export async function verifyModel(dir: string): Promise<Verification> {
  const loaded = loadModel(dir);
  if (!loaded.ok) return { ok: false, dir, problems: [loaded.problem] };
  const { model } = loaded;
  const { info, problems } = checkArtifact(model);
  if (problems.length === 0) {
    try {
      const session = await ModelSession.open(model.onnx, model.card.features.names.length);
      await session.close();
    } catch (err) {
      problems.push({ code: 'MODEL_SESSION_FAILED', message: `onnxruntime could not open the model: ${(err as Error).message}` });
    }
  }
  return {
    ok: problems.length === 0,
    dir,
    model: { id: model.card.id, version: model.card.version, horizon: model.card.horizon, kind: model.card.kind, sha256: model.sha256, bytes: model.onnx.byteLength, parameters: info?.parameterCount ?? 0 },
    problems,
    ...(info ? { onnx: info } : {}),
  };
}
