/**
 * Reading a model folder (`card.json` + `model.onnx`) and checking that the file is the one the
 * card describes. Problems are values with a code, never exceptions: the edge must answer with
 * its fallback, not crash, when a model is missing or tampered with.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CARD_FILE, modelCardSchema, type ModelCard } from './card.js';

export type ModelProblemCode = 'MODEL_MISSING' | 'MODEL_CARD_INVALID' | 'MODEL_HASH_MISMATCH' | 'MODEL_ONNX_MALFORMED' | 'MODEL_SESSION_FAILED';

export interface ModelProblem {
  code: ModelProblemCode;
  message: string;
}

export interface ModelArtifact {
  dir: string;
  card: ModelCard;
  onnx: Uint8Array;
  sha256: string;
}

export type LoadResult = { ok: true; model: ModelArtifact } | { ok: false; problem: ModelProblem };

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function readOrProblem(path: string): { bytes: Buffer } | ModelProblem {
  try {
    return { bytes: readFileSync(path) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { code: 'MODEL_MISSING', message: `${path}: ${code === 'ENOENT' ? 'no such file' : String((err as Error).message)}` };
  }
}

export function parseCard(text: string, where: string): { ok: true; card: ModelCard } | { ok: false; problem: ModelProblem } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { ok: false, problem: { code: 'MODEL_CARD_INVALID', message: `${where}: not JSON (${(err as Error).message})` } };
  }
  const parsed = modelCardSchema.safeParse(doc);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    return { ok: false, problem: { code: 'MODEL_CARD_INVALID', message: `${where}: ${first.path.join('.') || '(document)'}: ${first.message}` } };
  }
  return { ok: true, card: parsed.data };
}

/** Loads a model folder and checks the `.onnx` file's sha256 against its card. */
export function loadModel(dir: string): LoadResult {
  const cardPath = join(dir, CARD_FILE);
  const cardFile = readOrProblem(cardPath);
  if (!('bytes' in cardFile)) return { ok: false, problem: cardFile };
  const card = parseCard(cardFile.bytes.toString('utf8'), cardPath);
  if (!card.ok) return card;
  const onnxPath = join(dir, card.card.onnx.file);
  const onnxFile = readOrProblem(onnxPath);
  if (!('bytes' in onnxFile)) return { ok: false, problem: onnxFile };
  const onnx = onnxFile.bytes;
  const sha256 = sha256Hex(onnx);
  if (sha256 !== card.card.onnx.sha256) {
    return { ok: false, problem: { code: 'MODEL_HASH_MISMATCH', message: `${onnxPath}: sha256 ${sha256} is not the ${card.card.onnx.sha256} its card names: the file was changed or replaced` } };
  }
  return { ok: true, model: { dir, card: card.card, onnx: new Uint8Array(onnx.buffer, onnx.byteOffset, onnx.byteLength), sha256 } };
}
