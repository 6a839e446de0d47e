/**
 * Forecasting end to end with the simulator: the substation simulator serves feeder load over
 * OPC UA (1 simulated hour every 2 s), the edge aggregates it per simulated hour, forecasts the
 * feeder hour-ahead with the shipped model after every hour (the week before seeded from the
 * historian export the simulator replays), and the forecasts reach the hub with the model's id
 * and sha256; the model's rolling score reaches it too.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeConfigSchema, hubConfigSchema, validateConfig } from '../../config/index.js';
import { startAgent, type Agent } from '../../edge/index.js';
import { buildHub, type Hub } from '../../hub/index.js';
import { startSubstation, substationDefaults, type SubstationHandle } from '../../simulators/index.js';
import { captureLogger } from '../helpers/logger.js';
import { loginOverHttp, loginToHub, type HubSession } from '../helpers/hub-login.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'gridos-forecast-e2e-'));
const MODEL_DIR = new URL('../../models/artifacts/feeder-hour-ahead/', import.meta.url).pathname;
const DAYTON = new URL('../../simulators/data/pjm_dayton.csv', import.meta.url).pathname;
const HOUR_MS = 2_000;
const { logger } = captureLogger('warn');

let hub: Hub;
let httpUrl: string;
let viewer: HubSession;
let sim: SubstationHandle;
let agent: Agent;

/** Feeder 1 replays Dayton scaled so its peak is 4,000 kW: the seed history must be in the same unit. */
function daytonScale(): number {
  const loads = readFileSync(DAYTON, 'utf8').split('\n').slice(1).map((l) => Number(l.split(',')[1])).filter((v) => Number.isFinite(v) && v > 0);
  return 4000 / Math.max(...loads);
}

beforeAll(async () => {
  hub = await buildHub(validateConfig(hubConfigSchema, { http: { host: '127.0.0.1', port: 0 }, broker: { mode: 'embedded', host: '127.0.0.1', port: 0 }, storage: { dataDir: join(dir, 'hub') } }, 'test hub'), { logger });
  const started = await hub.start();
  httpUrl = started.httpUrl;
  await loginToHub(hub); // adds the viewer; the test logs in over HTTP like a browser would
  viewer = await loginOverHttp(httpUrl, 'test-viewer');
  sim = await startSubstation({ ...substationDefaults, port: 0, hourSeconds: HOUR_MS / 1000, tickMs: 100, pkiDir: join(dir, 'sim-pki'), logger });
  const feeder = sim.points.find((p) => p.tag === 'feeder1.active_power_kw')!;
  const config = validateConfig(
    edgeConfigSchema,
    {
      edge: { id: 'edge-fc', site: 'site-fc' },
      hub: { mqttUrl: started.brokerUrl },
      storage: { dataDir: join(dir, 'edge') },
      sources: [{ kind: 'opcua', name: 'substation', endpoint: sim.endpointUrl, samplingInterval: 200, publishingInterval: 200, tags: [{ id: feeder.tag, nodeId: feeder.nodeId, unit: feeder.unit, min: feeder.minValue, max: feeder.maxValue }] }],
      pipeline: { windows: ['1s', '2s'] },
      forecast: {
        clock: { hour: '2s', simulatedStart: substationDefaults.startSimTime.toISOString().slice(0, 16) },
        scoresEvery: '2s',
        // generous: this test is about the data's path, and shares two cores with the whole suite
        timeout: '10s',
        drift: { maxMape: 1000, window: '24h', minSamples: 1 },
        targets: [{ id: 'feeder1-load', tag: feeder.tag, horizon: 'hour-ahead', model: MODEL_DIR, history: { file: DAYTON, scale: daytonScale() } }],
      },
    },
    'test edge',
  );
  agent = await startAgent(config, { logger });
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await sim?.stop();
  await hub?.stop();
});

interface ForecastRow {
  target: string;
  role: string;
  horizon: string;
  load: number[];
  p10: number[];
  p90: number[];
  hourMs: number;
  firstHourMs: number;
  model?: { id: string; version: string; sha256: string; featureBuilderVersion: string };
  fallbackCode: string;
  fallbackReason: string;
}

describe('forecasts from the edge at the hub', () => {
  it('hour-ahead forecasts of the feeder arrive with the shipped model id and sha256, answered by the model', async () => {
    const card = JSON.parse(readFileSync(join(MODEL_DIR, 'card.json'), 'utf8')) as { id: string; version: string; onnx: { sha256: string } };
    const forecasts = await waitFor(
      'three forecasts answered by the model at the hub',
      async () => {
        const res = await fetch(`${httpUrl}/api/edges/edge-fc/forecasts?target=feeder1-load`, { headers: viewer.headers });
        if (!res.ok) return undefined;
        const body = (await res.json()) as { forecasts: ForecastRow[] };
        return body.forecasts.filter((f) => f.fallbackCode === '').length >= 3 ? body.forecasts : undefined;
      },
      40_000,
      250,
    );
    const byModel = forecasts.filter((f) => f.fallbackCode === '');
    // an hour the agent could not measure (the one it started in, on this fast clock) is answered
    // by the seasonal naive, and says why; nothing else may fall back
    for (const f of forecasts.filter((x) => x.fallbackCode !== '')) expect(f.fallbackCode, f.fallbackReason).toBe('INSUFFICIENT_DATA');
    for (const f of forecasts) {
      expect(f.model?.id).toBe(card.id);
      expect(f.model?.version).toBe(card.version);
      expect(f.model?.sha256).toBe(card.onnx.sha256);
      expect(f.horizon).toBe('hour-ahead');
      expect(f.role).toBe('active');
      expect(f.hourMs).toBe(HOUR_MS);
      expect(f.load).toHaveLength(1);
      // a feeder of 4 MW peak: the forecast is a load of that order, inside its own band
      expect(f.load[0]!).toBeGreaterThan(200);
      expect(f.load[0]!).toBeLessThan(6000);
      expect(f.p10[0]!).toBeLessThanOrEqual(f.load[0]!);
      expect(f.p90[0]!).toBeGreaterThanOrEqual(f.load[0]!);
    }
    expect(byModel.length).toBeGreaterThanOrEqual(3);
    // at most one forecast per simulated hour, on the hour grid (an hour whose aggregate never
    // closed, on a loaded machine, has no forecast after it rather than a late or doubled one)
    const hours = forecasts.map((f) => f.firstHourMs).sort((a, b) => a - b);
    for (let i = 1; i < hours.length; i++) {
      expect(hours[i]! - hours[i - 1]!).toBeGreaterThanOrEqual(HOUR_MS);
      expect((hours[i]! - hours[0]!) % HOUR_MS).toBe(0);
    }
    // the edge keeps what it sent
    expect(agent.store.forecasts('feeder1-load').length).toBeGreaterThanOrEqual(forecasts.length);
  }, 60_000);

  it("the model's rolling score against the feeder's actual load reaches the hub", async () => {
    const scores = await waitFor(
      'model scores at the hub',
      async () => {
        const res = await fetch(`${httpUrl}/api/edges/edge-fc/model-scores`, { headers: viewer.headers });
        const body = (await res.json()) as { target: string; role: string; n: number; mape: number; model?: { id: string } }[];
        return body.find((s) => s.target === 'feeder1-load' && s.n >= 1) ? body : undefined;
      },
      30_000,
      250,
    );
    const active = scores.find((s) => s.role === 'active')!;
    expect(active.model?.id).toBe('feeder-hour-ahead');
    expect(active.mape).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(active.mape)).toBe(true);
  }, 40_000);
});
