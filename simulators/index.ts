/**
 * @module simulators
 * Simulators that speak real protocols to the agent. Today: a substation (feeders, a PV plant,
 * a battery) on an OPC UA server, replaying real load data with time acceleration.
 *
 * @example
 *   const sim = await startSubstation({ ...substationDefaults, port: 0, pkiDir: '/tmp/pki', logger });
 *   console.log(sim.endpointUrl, sim.points.map((p) => p.nodeId));
 *   await sim.stop();
 */
import type { Logger } from 'pino';
import { loadSeriesFile, perUnitAt, type LoadSeries } from './substation/load-profile.js';
import { defaultBattery, defaultPv, type BatteryParams, type PhysicsParams, type PvParams } from './substation/physics.js';
import { serveSubstation, type SubstationHandle } from './substation/server.js';

export type { SubstationHandle } from './substation/server.js';
export type { SubstationPoint } from './substation/points.js';
export { NAMESPACE_URI } from './substation/points.js';
export type { SubstationState, PvParams, BatteryParams, Inputs, PhysicsParams } from './substation/physics.js';
export { step, initialState, batteryPowerKw, nextSocPct, pvAvailableKw, voltagePu, defaultBattery, defaultPv } from './substation/physics.js';
export { parseLoadCsv, perUnitAt, loadSeriesFile, naiveMs } from './substation/load-profile.js';
export type { LoadSeries } from './substation/load-profile.js';

export interface SubstationOptions {
  /** OPC UA TCP port; 0 picks a free one. */
  port: number;
  feeders: number;
  /** Real seconds per simulated hour: 3600 is real time, 60 runs 60 times faster. */
  hourSeconds: number;
  /** Simulated start, naive local time (its UTC fields are the substation's clock). */
  startSimTime: Date;
  /** Real milliseconds between physics steps. */
  tickMs: number;
  /** Folder for the server's certificates. */
  pkiDir: string;
  logger: Logger;
  pv?: Partial<PvParams>;
  battery?: Partial<BatteryParams>;
}

export const substationDefaults: Omit<SubstationOptions, 'pkiDir' | 'logger'> = {
  port: 4840,
  feeders: 2,
  hourSeconds: 3600,
  startSimTime: new Date(Date.UTC(2018, 6, 16, 0, 0)),
  tickMs: 1000,
};

/** Feeder peaks: feeder 1 carries the PV plant and the battery. */
const FEEDER_PEAK_KW = [4000, 3000, 3500, 2500];
const SERIES = ['pjm_dayton', 'pjm_aep'];

export async function startSubstation(options: SubstationOptions): Promise<SubstationHandle> {
  const series: LoadSeries[] = SERIES.map(loadSeriesFile);
  const params: PhysicsParams = {
    feederPeakKw: Array.from({ length: options.feeders }, (_, i) => FEEDER_PEAK_KW[i % FEEDER_PEAK_KW.length]!),
    pv: { ...defaultPv, ...options.pv },
    battery: { ...defaultBattery, ...options.battery },
    // Feeders beyond the second reuse the series, a few days apart, so no two are identical.
    loadPerUnit: (i, simMs) => perUnitAt(series[i % series.length]!, simMs - Math.floor(i / series.length) * 3 * 86_400_000),
  };
  return serveSubstation(params, options);
}
