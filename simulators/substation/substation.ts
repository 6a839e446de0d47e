/**
 * Assembles a simulated substation from options: the replayed load data per feeder, the PV and
 * battery parameters, and the OPC UA server that serves them.
 */
import { loadSeriesFile, perUnitAt, type LoadSeries } from './load-profile.js';
import { optionProblems, SimulatorOptionsError, type SubstationOptions } from './options.js';
import { defaultBattery, defaultPv, type PhysicsParams } from './physics.js';
import { serveSubstation, type SubstationHandle } from './server.js';

/** Default feeder peaks, repeated for further feeders: feeder 1 carries the PV plant and the battery. */
const FEEDER_PEAK_KW = [4000, 3000, 3500, 2500];
/** By default feeder 1 replays Dayton, feeder 2 AEP (files in ../data). */
const SERIES = ['pjm_dayton', 'pjm_aep'];
/** Feeders beyond the second reuse the series this many days later per round, so no two are identical. */
const REUSE_OFFSET_MS = 3 * 86_400_000;

/** Per-unit load of feeder `i` (0-based) at naive-local `simMs`. */
export function feederLoadPerUnit(series: readonly LoadSeries[], i: number, simMs: number): number {
  return perUnitAt(series[i % series.length]!, simMs - Math.floor(i / series.length) * REUSE_OFFSET_MS);
}

export async function startSubstation(options: SubstationOptions): Promise<SubstationHandle> {
  const pv = { ...defaultPv, ...options.pv };
  const battery = { ...defaultBattery, ...options.battery };
  const problems = optionProblems(options, pv, battery);
  if (problems.length > 0) throw new SimulatorOptionsError(problems);
  const series = (options.series ?? SERIES).map(loadSeriesFile);
  const peaks = options.feederPeaksKw ?? FEEDER_PEAK_KW;
  const params: PhysicsParams = {
    feederPeakKw: Array.from({ length: options.feeders }, (_, i) => peaks[i % peaks.length]!),
    pv,
    battery,
    loadPerUnit: (i, simMs) => feederLoadPerUnit(series, i, simMs),
  };
  return serveSubstation(params, options);
}
