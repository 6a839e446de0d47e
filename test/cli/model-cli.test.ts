/**
 * `gridos model train | eval | verify`, the built command as a user runs it: a model trained on
 * a slice of the real data, scored against the seasonal-naive reference, then tampered with.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelCardSchema, type ModelCard } from '../../models/card.js';
import { runGridos } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'gridos-model-cli-'));
const slice = join(dir, 'dayton-slice.csv');
const model = join(dir, 'model');
const CLI_TIMEOUT_MS = 25_000;

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A copy of the trained model folder, changed by `change`. */
function variant(name: string, change: (folder: string) => void): string {
  const folder = join(dir, name);
  cpSync(model, folder, { recursive: true });
  change(folder);
  return folder;
}

beforeAll(() => {
  // 2016-08-01 .. 2017-09-30: a year before --train-until, two months after it
  const lines = readFileSync('simulators/data/pjm_dayton.csv', 'utf8').split('\n');
  const end = lines.findIndex((l) => l.startsWith('2017-10-01 00:00'));
  expect(end).toBeGreaterThan(8000);
  writeFileSync(slice, lines.slice(0, end).join('\n') + '\n');
}, 180_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('gridos model', () => {
  it('train --kind linear writes model.onnx and a valid card naming its sha256', async () => {
    const r = await runGridos(['model', 'train', '--data', slice, '--train-until', '2017-08-01', '--kind', 'linear', '--no-progress', '--out', model], { timeoutMs: CLI_TIMEOUT_MS });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`written to ${model}`);
    const onnx = readFileSync(join(model, 'model.onnx'));
    const parsed = modelCardSchema.safeParse(JSON.parse(readFileSync(join(model, 'card.json'), 'utf8')));
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    const card = parsed.data!;
    expect(card.onnx.sha256).toBe(sha256(onnx));
    expect(card.onnx.bytes).toBe(onnx.byteLength);
    expect(card).toMatchObject({ id: 'dayton-slice-day-ahead', kind: 'linear', horizon: 'day-ahead', steps: 24 });
    expect(card.training).toMatchObject({ file: 'dayton-slice.csv', sha256: sha256(readFileSync(slice)), to: '2017-08-01 00:00' });
    expect(card.test).toMatchObject({ from: '2017-08-01 00:00', to: '2017-10-01 00:00' });
    // the export is checked against the TypeScript model on the test period's real features
    expect(card.onnx.parity).toMatchObject({ period: '2017-08-01 00:00 .. 2017-10-01 00:00' });
    expect(card.onnx.parity!.samples).toBeGreaterThan(50);
    expect(card.onnx.parity!.maxRelDiff).toBeLessThanOrEqual(1e-4);
    expect(r.stdout).toMatch(/onnxruntime vs TypeScript on \d+ forecasts/);
  }, 30_000);

  it('eval --json prints one JSON object on its last line, and the model beats the seasonal naive', async () => {
    const r = await runGridos(['model', 'eval', '--model', model, '--data', slice, '--from', '2017-08-01', '--json'], { timeoutMs: CLI_TIMEOUT_MS });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const result = JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
    for (const key of ['mape', 'mae', 'rmse', 'n', 'seasonalNaiveMape']) expect(typeof result[key], key).toBe('number');
    const n = result.n as number;
    const mape = result.mape as number;
    expect(n).toBeGreaterThan(1000); // 61 days x 24 hours, minus the hours without features
    expect(mape).toBeGreaterThan(0);
    expect(mape).toBeLessThan(result.seasonalNaiveMape as number);
    // onnxruntime (float32) scores what training's float64 reference scored on the same test period
    const card = JSON.parse(readFileSync(join(model, 'card.json'), 'utf8')) as ModelCard;
    expect(Math.abs(mape - card.test!.model.mape)).toBeLessThan(0.01);
    expect(result.seasonalNaiveMape).toBeCloseTo(card.test!.seasonalNaive.mape, 3);
    expect(n).toBe(card.test!.model.n);
  }, 30_000);

  it('--target picks the column: the same load under another name gives the same model', async () => {
    const renamed = join(dir, 'renamed.csv');
    const lines = readFileSync(slice, 'utf8').trimEnd().split('\n');
    writeFileSync(renamed, ['timestamp,other,feeder', ...lines.slice(1).map((l) => `${l.split(',')[0]},1,${l.split(',')[1] ?? ''}`)].join('\n') + '\n');
    const out = join(dir, 'renamed-model');
    const r = await runGridos(['model', 'train', '--data', renamed, '--target', 'feeder', '--train-until', '2017-08-01', '--kind', 'linear', '--no-progress', '--id', 'dayton-slice-day-ahead', '--out', out], { timeoutMs: CLI_TIMEOUT_MS });
    expect(r.code, r.stderr).toBe(0);
    const a = JSON.parse(readFileSync(join(model, 'card.json'), 'utf8')) as ModelCard;
    const b = JSON.parse(readFileSync(join(out, 'card.json'), 'utf8')) as ModelCard;
    expect(b.training.samples).toBe(a.training.samples);
    expect(b.validation).toEqual(a.validation);
    expect(b.test).toEqual(a.test);
  }, 30_000);

  it('verify: exit 0 for the trained model', async () => {
    const r = await runGridos(['model', 'verify', model], { timeoutMs: CLI_TIMEOUT_MS });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${model}: ok: dayton-slice-day-ahead@1 (linear, day-ahead)`);
  }, 30_000);

  it('verify: exit 1 naming MODEL_HASH_MISMATCH when one byte of model.onnx is flipped', async () => {
    const folder = variant('flipped', (f) => {
      const bytes = readFileSync(join(f, 'model.onnx'));
      bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
      writeFileSync(join(f, 'model.onnx'), bytes);
    });
    const r = await runGridos(['model', 'verify', folder], { timeoutMs: CLI_TIMEOUT_MS });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${folder}: MODEL_HASH_MISMATCH:`);
  }, 30_000);

  it('verify: exit 1 naming MODEL_MISSING when model.onnx is deleted', async () => {
    const folder = variant('deleted', (f) => rmSync(join(f, 'model.onnx')));
    const r = await runGridos(['model', 'verify', folder], { timeoutMs: CLI_TIMEOUT_MS });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${folder}: MODEL_MISSING:`);
    expect(r.stderr).toContain('model.onnx');
  }, 30_000);

  it('verify: exit 1 naming MODEL_CARD_INVALID and the field for a card with a bad field', async () => {
    const folder = variant('bad-card', (f) => {
      const card = JSON.parse(readFileSync(join(f, 'card.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(join(f, 'card.json'), JSON.stringify({ ...card, kind: 'forest' }));
    });
    const r = await runGridos(['model', 'verify', folder, '--json'], { timeoutMs: CLI_TIMEOUT_MS });
    expect(r.code).toBe(1);
    const v = JSON.parse(r.stdout.trim()) as { ok: boolean; problems: { code: string; message: string }[] };
    expect(v.ok).toBe(false);
    expect(v.problems).toHaveLength(1);
    expect(v.problems[0]!.code).toBe('MODEL_CARD_INVALID');
    expect(v.problems[0]!.message).toContain('kind');
    // an .onnx that escapes its folder is refused by the card too
    const escape = variant('escaping-card', (f) => {
      const card = JSON.parse(readFileSync(join(f, 'card.json'), 'utf8')) as ModelCard;
      writeFileSync(join(f, 'card.json'), JSON.stringify({ ...card, onnx: { ...card.onnx, file: '../model/model.onnx' } }));
    });
    const e = await runGridos(['model', 'verify', escape], { timeoutMs: CLI_TIMEOUT_MS });
    expect(e.code).toBe(1);
    expect(e.stderr).toContain('MODEL_CARD_INVALID');
  }, 30_000);

  it('eval of a tampered model exits 1 with its problem, before reading any data', async () => {
    const folder = variant('flipped-for-eval', (f) => {
      const bytes = readFileSync(join(f, 'model.onnx'));
      bytes[0]! ^= 0x80;
      writeFileSync(join(f, 'model.onnx'), bytes);
    });
    const r = await runGridos(['model', 'eval', '--model', folder, '--data', join(dir, 'nope.csv'), '--from', '2017-08-01'], { timeoutMs: CLI_TIMEOUT_MS });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('MODEL_HASH_MISMATCH');
  }, 30_000);

  it('bad --data: a missing file or a bad header exits 2 with a message naming the file', async () => {
    const missing = join(dir, 'missing.csv');
    const badHeader = join(dir, 'bad-header.csv');
    writeFileSync(badHeader, 'time,load\n2017-01-01 00:00,1\n');
    const out = join(dir, 'never');
    for (const args of [
      ['model', 'train', '--data', missing, '--kind', 'linear', '--no-progress', '--out', out],
      ['model', 'eval', '--model', model, '--data', missing, '--from', '2017-08-01'],
    ]) {
      const r = await runGridos(args, { timeoutMs: CLI_TIMEOUT_MS });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(missing);
    }
    for (const args of [
      ['model', 'train', '--data', badHeader, '--kind', 'linear', '--no-progress', '--out', out],
      ['model', 'eval', '--model', model, '--data', badHeader, '--from', '2017-08-01'],
    ]) {
      const r = await runGridos(args, { timeoutMs: CLI_TIMEOUT_MS });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(`MODEL_DATA_FORMAT: ${badHeader}:1: expected a header 'timestamp,load[,temp]'`);
    }
    expect(existsSync(out)).toBe(false);
  }, 30_000);

  it('--help works for train, eval and verify', async () => {
    for (const sub of ['train', 'eval', 'verify']) {
      const r = await runGridos(['model', sub, '--help'], { timeoutMs: CLI_TIMEOUT_MS });
      expect(r.code, sub).toBe(0);
      expect(r.stdout, sub).toMatch(new RegExp(`^Usage: gridos model ${sub}`));
    }
  }, 30_000);
});
