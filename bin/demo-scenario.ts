/**
 * The demo's two substations and how their edges are configured (pure: no I/O).
 *
 * Each substation replays a real summer day (simulators/data: PJM Dayton and AEP zone load,
 * scaled to each feeder's peak) from 13:00 on its own clock, one simulated hour per minute.
 * Feeder 1 carries a PV plant and a battery; its import limit sits under the afternoon load so
 * that the edge's day-ahead forecast shows a peak above it at once:
 *  - North: the forecast is about 150-250 kW above the limit: a small discharge, auto by policy;
 *  - South: a bigger feeder, about 600-900 kW above its limit: a large discharge, escalated to an
 *    operator, who approves it in the console before its interval ends.
 * The batteries start at 90 % (the controller's upper limit), so nothing is charged before the peak.
 */
import type { EdgeConfigInput } from '../config/index.js';

export interface DemoSubstation {
  site: string;
  edgeId: string;
  name: string;
  /** Load series per feeder (files in simulators/data), feeder 1 first. */
  series: readonly string[];
  feederPeaksKw: readonly number[];
  battery: { capacityKwh: number; maxDischargeKw: number; maxChargeKw: number; initialSocPct: number };
  /** Feeder 1's import limit, what peak shaving holds it under. */
  limitKw: number;
}

export const DEMO_SUBSTATIONS: readonly DemoSubstation[] = [
  {
    site: 'substation-north',
    edgeId: 'edge-north-01',
    name: 'Substation North gateway',
    series: ['pjm_dayton', 'pjm_aep'],
    feederPeaksKw: [4000, 3000],
    battery: { capacityKwh: 2000, maxDischargeKw: 1000, maxChargeKw: 1000, initialSocPct: 90 },
    limitKw: 3400,
  },
  {
    site: 'substation-south',
    edgeId: 'edge-south-01',
    name: 'Substation South gateway',
    series: ['pjm_aep', 'pjm_dayton'],
    feederPeaksKw: [5000, 3500],
    battery: { capacityKwh: 4000, maxDischargeKw: 2000, maxChargeKw: 2000, initialSocPct: 90 },
    limitKw: 3700,
  },
];

/** 2018-07-16 13:00 on the substations' clocks: a summer Monday, two hours before the afternoon plateau. */
export const DEMO_START = new Date(Date.UTC(2018, 6, 16, 13, 0));

/** A point of the simulator, as the edge configures its tags from it. */
export interface SimPoint {
  tag: string;
  nodeId: string;
  unit: string;
  description: string;
  minValue: number;
  maxValue: number;
}

export interface EdgeWiring {
  brokerUrl: string;
  /** The hub's TUF route, e.g. http://127.0.0.1:8080/tuf/ */
  tufUrl: string;
  trustedRoot: string;
  /** The hub's public decision key (PEM). */
  decisionKeyFile: string;
  endpointUrl: string;
  points: readonly SimPoint[];
  dataDir: string;
  hourMs: number;
  start: Date;
  /** Where the model artifacts and the load data are (resolved by the caller). */
  modelDir: (name: string) => string;
  dataFile: (series: string) => string;
  /** Peak of a series in its own unit, to scale it to the feeder's kW. */
  seriesPeak: (series: string) => number;
}

const SOC_MAX_PCT = 90;

export function demoEdgeConfig(s: DemoSubstation, w: EdgeWiring): EdgeConfigInput {
  const point = (tag: string): SimPoint => {
    const p = w.points.find((x) => x.tag === tag);
    if (!p) throw new Error(`the simulator of ${s.site} has no point '${tag}'`);
    return p;
  };
  const feederSeries = s.series[0]!;
  const history = { file: w.dataFile(feederSeries), scale: s.feederPeaksKw[0]! / w.seriesPeak(feederSeries) };
  // Aggregates per simulated hour (the model's unit) and per simulated day; real-time windows otherwise.
  const defaultWindows = [60_000, 900_000, 3_600_000];
  const windows = defaultWindows.includes(w.hourMs) ? defaultWindows : [w.hourMs, 24 * w.hourMs];
  return {
    edge: { id: s.edgeId, site: s.site, name: s.name },
    hub: { mqttUrl: w.brokerUrl },
    storage: { dataDir: w.dataDir },
    sources: [
      {
        kind: 'opcua',
        name: 'substation',
        endpoint: w.endpointUrl,
        tags: w.points.map((p) => ({ id: p.tag, nodeId: p.nodeId, unit: p.unit, description: p.description, min: p.minValue, max: p.maxValue })),
      },
    ],
    pipeline: { windows },
    forecast: {
      clock: { hour: w.hourMs, simulatedStart: w.start.toISOString().slice(0, 16) },
      scoresEvery: w.hourMs,
      targets: [
        { id: 'feeder1-hour-ahead', tag: 'feeder1.active_power_kw', horizon: 'hour-ahead', model: w.modelDir('feeder-hour-ahead'), history },
        { id: 'feeder1-day-ahead', tag: 'feeder1.active_power_kw', horizon: 'day-ahead', model: w.modelDir('feeder-day-ahead'), shadow: w.modelDir('feeder-day-ahead-linear'), history },
      ],
    },
    policy: { source: w.tufUrl, every: '10s', trustedRoot: w.trustedRoot },
    dispatch: {
      every: '5s',
      // the first write opens the device session (and makes the client certificate on a first run): slow on a busy machine
      writeTimeout: '20s',
      decisionKey: w.decisionKeyFile,
      peakShaving: {
        forecastTarget: 'feeder1-day-ahead',
        feederTag: 'feeder1.active_power_kw',
        limitKw: s.limitKw,
        endpoint: w.endpointUrl,
        battery: {
          setpointNodeId: point('bess1.power_setpoint_kw').nodeId,
          socTag: point('bess1.soc_pct').tag,
          capacityKwh: s.battery.capacityKwh,
          maxDischargeKw: s.battery.maxDischargeKw,
          maxChargeKw: s.battery.maxChargeKw,
          socMinPct: 10,
          socMaxPct: SOC_MAX_PCT,
        },
      },
      interlocks: { socMinPct: 15, socMaxPct: 95, voltageBandPu: [0.9, 1.1], voltageTag: point('feeder1.voltage_pu').tag, maxStepKw: s.battery.maxDischargeKw },
    },
  };
}
