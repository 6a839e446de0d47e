/** Target inputs from the files people write: a policy YAML, a model artifact directory. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePolicy } from '../../config/policy-load.js';
import { MODEL_FILES, modelTarget, policyTarget } from '../../protocols/tuf/index.js';
import { HubTufError } from './errors.js';
import type { TargetInput } from './releases.js';

/** A policy file as a target `policies/<id>/<version>.yaml`; the policy must validate. */
export function policyTargetFromFile(file: string): TargetInput {
  const bytes = readFileSync(file);
  let policy;
  try {
    policy = parsePolicy(bytes.toString('utf8'), file);
  } catch (e) {
    throw new HubTufError('HUB_TUF_BAD_TARGET', `${file} is not a valid policy, nothing released:\n${(e as Error).message}`);
  }
  return { target: policyTarget(policy.id, policy.version), bytes, custom: { gridos: { kind: 'policy', id: policy.id, version: policy.version } } };
}

/** A model artifact directory (`model.onnx` + `card.json` with id and version) as two targets. */
export function modelTargetsFromDir(dir: string): TargetInput[] {
  const cardBytes = readFileSync(join(dir, 'card.json'));
  const card = JSON.parse(cardBytes.toString('utf8')) as { id?: unknown; version?: unknown };
  if (typeof card.id !== 'string' || typeof card.version !== 'string') throw new HubTufError('HUB_TUF_BAD_TARGET', `${dir}/card.json has no string id and version`);
  const { id, version } = card;
  return MODEL_FILES.map((f) => ({
    target: modelTarget(id, version, f),
    bytes: f === 'card.json' ? cardBytes : readFileSync(join(dir, f)),
    custom: { gridos: { kind: 'model', id, version } },
  }));
}
