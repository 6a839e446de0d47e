/**
 * The models shipped in `models/artifacts/<id>/` are ones the edge will load: each folder passes
 * `gridos model verify` (card, sha256, inputs/outputs, feature list, onnxruntime opens it).
 * A missing or empty folder fails: a check over nothing would pass vacuously.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../models/artifact.js';
import { verifyModel } from '../../models/verify.js';

const ARTIFACTS = 'models/artifacts';

describe('shipped models', () => {
  it('shipped artifacts verify', async () => {
    expect(existsSync(ARTIFACTS), `${ARTIFACTS} is missing: run \`npm run models\``).toBe(true);
    const folders = readdirSync(ARTIFACTS).filter((f) => statSync(join(ARTIFACTS, f)).isDirectory());
    expect(folders.length).toBeGreaterThanOrEqual(1);
    for (const f of folders) {
      const dir = join(ARTIFACTS, f);
      const v = await verifyModel(dir);
      expect(v.problems, dir).toEqual([]);
      expect(v.ok, dir).toBe(true);
      expect(v.model!.id, `${dir}: the folder is named after the model`).toBe(f);
      expect(v.model!.sha256).toBe(sha256Hex(readFileSync(join(dir, 'model.onnx'))));
    }
  }, 30_000);
});
