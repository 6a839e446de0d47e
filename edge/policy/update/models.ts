/**
 * Model files an assignment names: tuf-js downloads each (length and sha256 checked against the
 * targets metadata) and, with a models directory, places it at `<modelsDir>/<id>/<version>/<file>`
 * by copy and rename. A released model version never changes (the hub refuses that), so placing files
 * before the policy's transaction commits is safe: a crash leaves a complete, unused file at worst.
 */
import { copyFileSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { TargetFile } from '@tufjs/models';
import type { Updater } from 'tuf-js';
import { parseModelTarget, type Assignment } from '../../../protocols/tuf/index.js';

export interface InstalledModel {
  target: string;
  modelId: string;
  version: string;
  sha256: string;
  /** Where the file now is; undefined when no models directory was given (verified only). */
  path: string | undefined;
}

export async function installModels(updater: Updater, a: Assignment, infos: ReadonlyMap<string, TargetFile>, work: string, modelsDir: string | undefined): Promise<InstalledModel[]> {
  const out: InstalledModel[] = [];
  for (const [i, m] of a.models.entries()) {
    const named = parseModelTarget(m.target)!;
    const staged = await updater.downloadTarget(infos.get(m.target)!, join(work, `model-${i}`));
    let path: string | undefined;
    if (modelsDir !== undefined) {
      const dir = join(modelsDir, named.modelId, named.version);
      mkdirSync(dir, { recursive: true });
      path = join(dir, named.file);
      copyFileSync(staged, `${path}.tmp`);
      renameSync(`${path}.tmp`, path);
    }
    out.push({ target: m.target, modelId: named.modelId, version: named.version, sha256: m.sha256, path });
  }
  return out;
}
