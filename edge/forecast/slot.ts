/**
 * Opening a model folder for serving: `loadModel` (card, bytes, sha256), `checkArtifact` (the
 * .onnx matches its card and this feature builder), the card's horizon against the target's,
 * then an inference session. Never throws: a folder that cannot serve becomes a problem with a
 * code, and the model the card names when the card could be read.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCard } from '../../models/artifact.js';
import { loadModel } from '../../models/artifact.js';
import { CARD_FILE, type ModelCard } from '../../models/card.js';
import { stepsOf, type FeatureSpec, type Horizon } from '../../models/features.js';
import { specOfCard } from '../../models/score.js';
import { checkArtifact } from '../../models/verify.js';
import type { FallbackCode, InferenceSessionLike, ModelRef, SessionOpener } from './types.js';

export interface LoadedModel {
  dir: string;
  ref: ModelRef;
  spec: FeatureSpec;
  steps: number;
  session: InferenceSessionLike;
  /** An inference abandoned at its deadline that has not settled yet. */
  inflight?: Promise<void>;
}

export type Slot =
  | { ok: true; model: LoadedModel }
  | { ok: false; dir?: string; code: FallbackCode; message: string; ref?: ModelRef };

export function refOfCard(card: ModelCard, sha256: string): ModelRef {
  return { id: card.id, version: card.version, sha256, featureBuilderVersion: card.features.builderVersion };
}

/** The model a folder's card names, when the card can be read at all (for fallbacks' `model`). */
function cardRef(dir: string): ModelRef | undefined {
  try {
    const path = join(dir, CARD_FILE);
    const parsed = parseCard(readFileSync(path, 'utf8'), path);
    return parsed.ok ? refOfCard(parsed.card, parsed.card.onnx.sha256) : undefined;
  } catch {
    return undefined;
  }
}

export async function openSlot(dir: string | undefined, horizon: Horizon, openSession: SessionOpener): Promise<Slot> {
  if (dir === undefined) return { ok: false, code: 'NO_MODEL', message: 'no model is configured' };
  const problem = (code: FallbackCode, message: string, ref = cardRef(dir)): Slot => ({ ok: false, dir, code, message, ...(ref ? { ref } : {}) });
  const loaded = loadModel(dir);
  if (!loaded.ok) return problem(loaded.problem.code, loaded.problem.message);
  const { model } = loaded;
  const ref = refOfCard(model.card, model.sha256);
  const checked = checkArtifact(model);
  const first = checked.problems[0];
  if (first) return problem(first.code, `${dir}: ${checked.problems.map((p) => p.message).join('; ')}`, ref);
  if (model.card.horizon !== horizon) return problem('MODEL_HORIZON_MISMATCH', `${dir}: the model forecasts ${model.card.horizon}, the target is ${horizon}`, ref);
  const steps = stepsOf(horizon);
  if (model.card.steps !== steps) return problem('MODEL_CARD_INVALID', `${dir}: the card says ${model.card.steps} steps, ${horizon} has ${steps}`, ref);
  let session: InferenceSessionLike;
  try {
    session = await openSession(model.onnx, model.card.features.names.length);
  } catch (err) {
    return problem('MODEL_SESSION_FAILED', `${dir}: onnxruntime could not open the model: ${err instanceof Error ? err.message : String(err)}`, ref);
  }
  return { ok: true, model: { dir, ref, spec: specOfCard(model), steps, session } };
}

/** Releases a slot's session, after an abandoned inference settles (at most `graceMs` later). */
export async function closeSlot(slot: Slot, graceMs: number): Promise<void> {
  if (!slot.ok) return;
  const { model } = slot;
  if (model.inflight) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([model.inflight, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
  }
  await model.session.close().catch(() => undefined);
}
