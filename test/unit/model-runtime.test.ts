import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelRuntime, ModelRuntimeError, type Alarm, type Forecast, type ModelRuntimeOptions, type SessionOpener } from '../../edge/forecast/index.js';
import { AccuracyMeter } from '../../models/accuracy.js';
import { sha256Hex } from '../../models/artifact.js';
import { US_HOLIDAYS } from '../../models/calendar.js';
import type { ModelCard } from '../../models/card.js';
import { buildFeatures } from '../../models/features.js';
import { seasonalNaive } from '../../models/naive.js';
import { predict } from '../../models/network.js';
import { ModelProtoType, type WireModel } from '../../models/onnx/schema.js';
import { specOfCard } from '../../models/score.js';
import { DAY_MS, HOUR_MS, readSeriesCsv, type HourlySeries } from '../../models/series.js';
import { ModelSession } from '../../models/session.js';
import { trainModel, type TrainedModel } from '../../models/train.js';
import { writeModel } from '../../models/write.js';
import { captureLogger } from '../helpers/logger.js';

const DATA = 'simulators/data/pjm_dayton.csv';
const TRAIN_UNTIL = Date.UTC(2017, 7, 1);
const ISSUE = Date.UTC(2017, 7, 10);
const TARGET = 'dayton';

let dir: string;
let series: HourlySeries;
let active: TrainedModel;
let shadow: TrainedModel;
let good: string;
let goodShadow: string;

function train(id: string, extra: { maxTrainYears?: number }): TrainedModel {
  return trainModel({ series, data: { file: DATA, sha256: sha256Hex(readFileSync(DATA)) }, horizon: 'day-ahead', kind: 'linear', trainUntilMs: TRAIN_UNTIL, calendar: US_HOLIDAYS, seed: 1, id, version: '2017.08.1', nowMs: TRAIN_UNTIL, ...extra });
}

/** A copy of the good model folder, changed by `change`. */
function variant(name: string, change: (folder: string) => void = () => undefined): string {
  const folder = join(dir, name);
  cpSync(good, folder, { recursive: true });
  change(folder);
  return folder;
}

/**
 * The good model with a Reshape to [5, -1] inserted before its `load` output: onnxruntime loads
 * it (the batch dimension is symbolic, so the shape cannot be checked at load) and every run
 * fails (24 values cannot make rows of 5). The card names its real hash, so only running it fails.
 */
function throwingModel(folder: string): void {
  const onnxPath = join(folder, 'model.onnx');
  const model = ModelProtoType.toObject(ModelProtoType.decode(readFileSync(onnxPath))) as WireModel;
  const graph = model.graph!;
  const nodes = graph.node!;
  const at = nodes.findIndex((n) => n.output?.[0] === 'load');
  const loadNode = nodes[at]!;
  const h = loadNode.input![0]!;
  const shape = new Uint8Array(16);
  new DataView(shape.buffer).setBigInt64(0, 5n, true);
  new DataView(shape.buffer).setBigInt64(8, -1n, true);
  graph.initializer!.push({ name: 'impossible_shape', dims: [2], dataType: 7, rawData: shape });
  nodes.splice(at, 0, { name: 'reshape_fails', opType: 'Reshape', input: [h, 'impossible_shape'], output: ['h_reshaped'] });
  loadNode.input = ['h_reshaped', ...loadNode.input!.slice(1)];
  const bytes = ModelProtoType.encode(ModelProtoType.fromObject(model)).finish();
  writeFileSync(onnxPath, bytes);
  const cardPath = join(folder, 'card.json');
  const card = JSON.parse(readFileSync(cardPath, 'utf8')) as ModelCard;
  card.onnx = { ...card.onnx, sha256: sha256Hex(bytes), bytes: bytes.byteLength };
  writeFileSync(cardPath, JSON.stringify(card));
}

interface Harness {
  rt: ModelRuntime;
  registry: Registry;
  events: [Alarm, boolean][];
  records: Record<string, unknown>[];
}

async function open(o: Partial<ModelRuntimeOptions>): Promise<Harness> {
  const registry = new Registry();
  const events: [Alarm, boolean][] = [];
  const { logger, records } = captureLogger('debug');
  const rt = await ModelRuntime.open({
    target: TARGET,
    horizon: 'day-ahead',
    timeoutMs: 10_000,
    drift: { maxMape: 1000, windowHours: 240, minSamples: 24 },
    logger,
    registry,
    now: () => 1_700_000_000_000,
    onAlarm: (a, raised) => events.push([a, raised]),
    ...o,
  });
  return { rt, registry, events, records };
}

async function metric(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const { values } = await registry.getSingleMetric(name)!.get();
  return values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
}

function naiveAt(s: HourlySeries, issueMs: number): { load: number[]; p10: number[]; p90: number[] } {
  const n = seasonalNaive(s, issueMs, 'day-ahead');
  if (!n.ok) throw new Error(n.message);
  return { load: Array.from(n.forecast.load), p10: Array.from(n.forecast.p10), p90: Array.from(n.forecast.p90) };
}

/** The model's output as the TypeScript reference computes it (float64). */
function reference(net: TrainedModel, folder: string, issueMs: number): Float64Array {
  const card = JSON.parse(readFileSync(join(folder, 'card.json'), 'utf8')) as ModelCard;
  const f = buildFeatures(series, issueMs, specOfCard({ dir: folder, card, onnx: new Uint8Array(), sha256: '' }));
  if (!f.ok) throw new Error(f.message);
  return predict(net.network, f.features.values, f.features.scale).load;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gridos-runtime-'));
  series = readSeriesCsv(DATA);
  active = train('dayton-da', {});
  shadow = train('dayton-da-half-year', { maxTrainYears: 0.5 });
  good = join(dir, 'good');
  goodShadow = join(dir, 'good-shadow');
  await writeModel(good, active);
  await writeModel(goodShadow, shadow);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ModelRuntime with a good model', () => {
  it('answers with the model: values as the TypeScript reference computes them, the model named, logged at debug and counted', async () => {
    const { rt, registry, records, events } = await open({ active: good });
    const { active: f, shadow: none } = await rt.forecast(series, ISSUE);
    expect(none).toBeUndefined();
    expect(f.fallback).toBeUndefined();
    expect(f).toMatchObject({ target: TARGET, role: 'active', horizon: 'day-ahead', issueMs: ISSUE });
    const card = JSON.parse(readFileSync(join(good, 'card.json'), 'utf8')) as ModelCard;
    expect(f.model).toEqual({ id: 'dayton-da', version: '2017.08.1', sha256: card.onnx.sha256, featureBuilderVersion: card.features.builderVersion });
    const want = reference(active, good, ISSUE);
    expect(f.load).toHaveLength(24);
    f.load.forEach((v, h) => expect(Math.abs(v - want[h]!) / Math.abs(want[h]!)).toBeLessThan(1e-3));
    expect(f.p10.every((v, h) => v <= f.load[h]!) && f.p90.every((v, h) => v >= f.load[h]!)).toBe(true);
    expect(f.latencyUs).toBeGreaterThan(0);
    expect(records).toContainEqual(expect.objectContaining({ level: 20, msg: 'forecast', role: 'active', modelId: 'dayton-da', sha256: card.onnx.sha256, latencyUs: f.latencyUs }));
    expect(await metric(registry, 'gridos_edge_forecasts_total', { target: TARGET, role: 'active', answer: 'model' })).toBe(1);
    expect(rt.alarms()).toEqual([]);
    expect(events).toEqual([]);
    await rt.close();
  });
});

describe('ModelRuntime falls back to the seasonal naive', () => {
  const flipByte = (folder: string): void => {
    const p = join(folder, 'model.onnx');
    const bytes = readFileSync(p);
    bytes[bytes.length - 3]! ^= 0x01;
    writeFileSync(p, bytes);
  };
  const cases: { name: string; code: string; folder: () => string }[] = [
    { name: 'a wrong hash', code: 'MODEL_HASH_MISMATCH', folder: () => variant('wrong-hash', flipByte) },
    { name: 'a missing .onnx file', code: 'MODEL_MISSING', folder: () => variant('no-onnx', (f) => rmSync(join(f, 'model.onnx'))) },
    { name: 'a folder that does not exist', code: 'MODEL_MISSING', folder: () => join(dir, 'nowhere') },
    { name: 'a session that throws at run time', code: 'MODEL_ERROR', folder: () => variant('throws', throwingModel) },
  ];
  for (const c of cases) {
    it(`for ${c.name}: ${c.code}, an alarm, and it keeps answering`, async () => {
      const { rt, registry, events } = await open({ active: c.folder() });
      for (const issueMs of [ISSUE, ISSUE + DAY_MS]) {
        const { active: f } = await rt.forecast(series, issueMs);
        expect(f.fallback?.code).toBe(c.code);
        expect({ load: f.load, p10: f.p10, p90: f.p90 }).toEqual(naiveAt(series, issueMs));
      }
      expect(rt.alarms()).toEqual([expect.objectContaining({ target: TARGET, role: 'active', code: c.code, sinceMs: 1_700_000_000_000 })]);
      expect(events.map(([a, raised]) => [a.code, raised])).toEqual([[c.code, true]]); // raised once, not per forecast
      expect(await metric(registry, 'gridos_edge_model_alarm', { target: TARGET, role: 'active', code: c.code })).toBe(1);
      expect(await metric(registry, 'gridos_edge_forecast_fallbacks_total', { target: TARGET, role: 'active', code: c.code })).toBe(2);
      expect(await metric(registry, 'gridos_edge_forecasts_total', { target: TARGET, role: 'active', answer: 'fallback' })).toBe(2);
      await rt.close();
    });
  }

  it('for a model of another horizon: MODEL_HORIZON_MISMATCH, naming the model', async () => {
    const { rt } = await open({ active: good, horizon: 'hour-ahead' });
    const issueMs = ISSUE + 5 * HOUR_MS;
    const { active: f } = await rt.forecast(series, issueMs);
    expect(f.fallback?.code).toBe('MODEL_HORIZON_MISMATCH');
    expect(f.model?.id).toBe('dayton-da');
    const n = seasonalNaive(series, issueMs, 'hour-ahead');
    expect(n.ok && f.load).toEqual(n.ok ? Array.from(n.forecast.load) : undefined);
    await rt.close();
  });

  it('for a timeout (an injected session that does not answer until released): MODEL_TIMEOUT, no second run while the first is out, and the alarm clears after the next good run', async () => {
    // Mocked on purpose: onnxruntime-node runs on the event loop, so a really slow graph would
    // block the test as well; this session's run is a promise the test settles.
    let hold = true;
    const held: (() => void)[] = [];
    let runs = 0;
    const openSession: SessionOpener = async (onnx, featureCount) => {
      const real = await ModelSession.open(onnx, featureCount);
      return {
        run: (features, scale) => {
          runs++;
          const answer = () => real.run(features, scale);
          return hold ? new Promise((resolve) => held.push(() => resolve(answer()))) : answer();
        },
        close: () => real.close(),
      };
    };
    const { rt, registry, events } = await open({ active: good, timeoutMs: 50, openSession });
    const first = await rt.forecast(series, ISSUE);
    expect(first.active.fallback?.code).toBe('MODEL_TIMEOUT');
    expect({ load: first.active.load, p10: first.active.p10, p90: first.active.p90 }).toEqual(naiveAt(series, ISSUE));
    const second = await rt.forecast(series, ISSUE + DAY_MS);
    expect(second.active.fallback?.code).toBe('MODEL_TIMEOUT');
    expect(runs).toBe(1);
    expect(rt.alarms().map((a) => a.code)).toEqual(['MODEL_TIMEOUT']);
    expect(await metric(registry, 'gridos_edge_model_alarm', { target: TARGET, role: 'active', code: 'MODEL_TIMEOUT' })).toBe(1);
    hold = false;
    held.forEach((release) => release());
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    const third = await rt.forecast(series, ISSUE + 2 * DAY_MS);
    expect(third.active.fallback).toBeUndefined();
    expect(rt.alarms()).toEqual([]);
    expect(events.map(([a, raised]) => [a.code, raised])).toEqual([['MODEL_TIMEOUT', true], ['MODEL_TIMEOUT', false]]);
    expect(await metric(registry, 'gridos_edge_model_alarm', { target: TARGET, role: 'active', code: 'MODEL_TIMEOUT' })).toBe(0);
    await rt.close();
  });

  it('when the history is too incomplete for the features: INSUFFICIENT_DATA, counted, no alarm; with nothing for the naive either, an empty answer', async () => {
    const holes = { ...series, load: Float64Array.from(series.load) };
    const t0 = (ISSUE - series.startMs) / HOUR_MS;
    holes.load.fill(NaN, t0 - 3, t0);
    const { rt, registry, records } = await open({ active: good });
    const { active: f } = await rt.forecast(holes, ISSUE);
    expect(f.fallback?.code).toBe('INSUFFICIENT_DATA');
    expect({ load: f.load, p10: f.p10, p90: f.p90 }).toEqual(naiveAt(holes, ISSUE));
    expect(rt.alarms()).toEqual([]);
    expect(records.filter((r) => r.level === 40)).toHaveLength(1);
    holes.load.fill(NaN, 0, t0);
    const { active: empty } = await rt.forecast(holes, ISSUE);
    expect(empty).toMatchObject({ load: [], p10: [], p90: [], fallback: { code: 'INSUFFICIENT_DATA' } });
    expect(records.filter((r) => r.level === 40)).toHaveLength(1); // warned once for the episode
    expect(await metric(registry, 'gridos_edge_forecast_fallbacks_total', { target: TARGET, role: 'active', code: 'INSUFFICIENT_DATA' })).toBe(2);
    await rt.close();
  });

  it('a shadow that fails only alarms for the shadow; the active answer is the model\'s', async () => {
    const { rt } = await open({ active: good, shadow: variant('shadow-wrong-hash', (f) => writeFileSync(join(f, 'model.onnx'), 'not the model')) });
    const { active: a, shadow: s } = await rt.forecast(series, ISSUE);
    expect(a.fallback).toBeUndefined();
    expect(s?.fallback?.code).toBe('MODEL_HASH_MISMATCH');
    expect(s?.model?.id).toBe('dayton-da'); // the card could be read: the model that was configured
    expect(rt.alarms()).toEqual([expect.objectContaining({ role: 'shadow', code: 'MODEL_HASH_MISMATCH' })]);
    await rt.close();
  });

  it('reload picks up a model installed after start and clears the alarm', async () => {
    const folder = join(dir, 'installed-later');
    const { rt, events } = await open({ active: folder });
    expect((await rt.forecast(series, ISSUE)).active.fallback?.code).toBe('MODEL_MISSING');
    cpSync(good, folder, { recursive: true });
    await rt.reload();
    expect((await rt.forecast(series, ISSUE)).active.fallback).toBeUndefined();
    expect(events.map(([a, raised]) => [a.code, raised])).toEqual([['MODEL_MISSING', true], ['MODEL_MISSING', false]]);
    await rt.close();
  });

  it('refuses bad options and non-issue times with typed errors', async () => {
    await expect(open({ drift: { maxMape: 10, windowHours: 24, minSamples: 48 } })).rejects.toMatchObject({ code: 'EDGE_FORECAST_OPTIONS' });
    const { rt } = await open({});
    const noModel = await rt.forecast(series, ISSUE);
    expect(noModel.active.fallback?.code).toBe('NO_MODEL');
    expect(rt.alarms()).toEqual([]);
    await expect(rt.forecast(series, ISSUE + HOUR_MS)).rejects.toBeInstanceOf(ModelRuntimeError);
    await rt.close();
    await expect(rt.forecast(series, ISSUE)).rejects.toMatchObject({ code: 'EDGE_FORECAST_CLOSED' });
  });
});

describe('ModelRuntime scoring', () => {
  it('runs active and shadow side by side over 30 replayed days; their rolling errors equal the offline computation', async () => {
    const windowHours = 240;
    const { rt, registry } = await open({ active: good, shadow: goodShadow, drift: { maxMape: 1000, windowHours, minSamples: 24 } });
    const answered: Record<'active' | 'shadow', Map<number, number>> = { active: new Map(), shadow: new Map() };
    for (let day = 0; day < 30; day++) {
      const issueMs = TRAIN_UNTIL + day * DAY_MS;
      const out = await rt.forecast(series, issueMs);
      for (const f of [out.active, out.shadow!] as Forecast[]) {
        expect(f.fallback).toBeUndefined();
        f.load.forEach((v, h) => answered[f.role].set(issueMs + h * HOUR_MS, v));
      }
      for (let h = 0; h < 24; h++) {
        const hourMs = issueMs + h * HOUR_MS;
        rt.observe(hourMs, series.load[(hourMs - series.startMs) / HOUR_MS]!);
      }
    }
    const actualAt = (ms: number): number => series.load[(ms - series.startMs) / HOUR_MS]!;
    const scores = rt.scores();
    expect(scores.map((s) => [s.role, s.modelId])).toEqual([['active', 'dayton-da'], ['shadow', 'dayton-da-half-year']]);
    for (const s of scores) {
      const hours = [...answered[s.role].keys()].filter((ms) => Number.isFinite(actualAt(ms))).sort((a, b) => a - b);
      const newest = hours[hours.length - 1]!;
      const meter = new AccuracyMeter();
      for (const ms of hours) if (ms > newest - windowHours * HOUR_MS) meter.add(answered[s.role].get(ms)!, actualAt(ms));
      const want = meter.result();
      expect(s.n).toBe(want.n);
      for (const k of ['mape', 'mae', 'bias'] as const) {
        expect(Math.abs(s[k] - want[k])).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want[k])));
        const gauge = await metric(registry, `gridos_edge_model_rolling_${k}`, { target: TARGET, role: s.role });
        expect(gauge).toBe(s[k]);
      }
    }
    expect(scores[0]!.mape).not.toBe(scores[1]!.mape);
    await rt.close();
  });

  it('answers MODEL_DRIFT while the active model is over its bound, keeps scoring it, and clears the alarm by itself', async () => {
    const windowHours = 48;
    const { rt, registry, events } = await open({ active: good, drift: { maxMape: 0.5, windowHours, minSamples: 24 } });
    const day1 = TRAIN_UNTIL;
    const first = await rt.forecast(series, day1);
    expect(first.active.fallback).toBeUndefined();
    for (let h = 0; h < 24; h++) rt.observe(day1 + h * HOUR_MS, series.load[(day1 + h * HOUR_MS - series.startMs) / HOUR_MS]!);
    expect(rt.alarms().map((a) => a.code)).toEqual(['MODEL_DRIFT']);
    expect(await metric(registry, 'gridos_edge_model_alarm', { target: TARGET, role: 'active', code: 'MODEL_DRIFT' })).toBe(1);

    // while drifting, the naive answers; the model keeps running and being scored: actuals equal
    // to its own output bring its rolling MAPE down until the alarm clears
    let cleared = -1;
    for (let day = 1; day <= 3 && cleared < 0; day++) {
      const issueMs = day1 + day * DAY_MS;
      const { active: f } = await rt.forecast(series, issueMs);
      expect(f.fallback?.code).toBe('MODEL_DRIFT');
      expect({ load: f.load, p10: f.p10, p90: f.p90 }).toEqual(naiveAt(series, issueMs));
      const own = reference(active, good, issueMs);
      for (let h = 0; h < 24 && cleared < 0; h++) {
        rt.observe(issueMs + h * HOUR_MS, own[h]!);
        if (rt.alarms().length === 0) cleared = day;
      }
    }
    expect(cleared).toBeGreaterThan(0);
    expect(events.map(([a, raised]) => [a.code, raised])).toEqual([['MODEL_DRIFT', true], ['MODEL_DRIFT', false]]);
    expect(await metric(registry, 'gridos_edge_model_alarm', { target: TARGET, role: 'active', code: 'MODEL_DRIFT' })).toBe(0);
    const after = await rt.forecast(series, day1 + (cleared + 1) * DAY_MS);
    expect(after.active.fallback).toBeUndefined();
    await rt.close();
  });
});
