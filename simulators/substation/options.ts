/**
 * What a caller chooses about a simulated substation, its defaults, and the check that refuses a
 * choice the physics cannot run (rather than quietly repairing it).
 */
import type { Logger } from 'pino';
import type { BatteryParams, PvParams } from './physics.js';

export interface SubstationOptions {
  /** OPC UA TCP port; 0 picks a free one (the handle reports which). */
  port: number;
  feeders: number;
  /** Real seconds per simulated hour: 3600 is real time, 60 runs 60 times faster. */
  hourSeconds: number;
  /** Simulated start, naive local time (its UTC fields are the substation's clock). */
  startSimTime: Date;
  /** Real milliseconds between physics steps. */
  tickMs: number;
  /** Folder for the server's certificates (created if missing). */
  pkiDir: string;
  logger: Logger;
  pv?: Partial<PvParams>;
  battery?: Partial<BatteryParams>;
  /** Peak load per feeder, kW, repeated for further feeders (default 4000, 3000, 3500, 2500). */
  feederPeaksKw?: readonly number[];
  /** Load series per feeder, files in simulators/data without `.csv`, repeated for further feeders (default pjm_dayton, pjm_aep). */
  series?: readonly string[];
}

export const substationDefaults: Readonly<Omit<SubstationOptions, 'pkiDir' | 'logger'>> = Object.freeze({
  port: 4840,
  feeders: 2,
  hourSeconds: 3600,
  // 2018-07-16 00:00 on the substation's clock: a summer Monday inside the data slice.
  startSimTime: new Date(Date.UTC(2018, 6, 16, 0, 0)),
  tickMs: 1000,
});

/** Feeders beyond this make an address space nobody browses; the CLI allows 16. */
export const MAX_FEEDERS = 1000;

export class SimulatorOptionsError extends Error {
  override readonly name = 'SimulatorOptionsError';
  readonly code = 'SIM_OPTIONS_INVALID';
  constructor(readonly problems: string[]) {
    super(`invalid substation options:\n  ${problems.join('\n  ')}`);
  }
}

const finite = (v: number): boolean => typeof v === 'number' && Number.isFinite(v);

/** Problems with the options and the resolved PV and battery parameters; empty when they can run. */
export function optionProblems(o: SubstationOptions, pv: PvParams, b: BatteryParams): string[] {
  const p: string[] = [];
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) p.push(`port: expected a whole number from 0 to 65535 (0 picks a free port), got ${o.port}`);
  if (!Number.isInteger(o.feeders) || o.feeders < 1 || o.feeders > MAX_FEEDERS) p.push(`feeders: expected a whole number from 1 to ${MAX_FEEDERS}, got ${o.feeders}`);
  if (!finite(o.hourSeconds) || o.hourSeconds <= 0) p.push(`hourSeconds: expected real seconds per simulated hour > 0, got ${o.hourSeconds}`);
  if (!finite(o.tickMs) || o.tickMs < 1) p.push(`tickMs: expected real milliseconds between steps >= 1, got ${o.tickMs}`);
  if (!(o.startSimTime instanceof Date) || Number.isNaN(o.startSimTime.getTime())) p.push('startSimTime: expected a valid Date');
  if (!o.pkiDir) p.push('pkiDir: expected a folder for the server certificates');
  if (o.feederPeaksKw !== undefined && (o.feederPeaksKw.length === 0 || !o.feederPeaksKw.every((v) => finite(v) && v > 0))) p.push(`feederPeaksKw: expected one or more peaks > 0 kW, got [${o.feederPeaksKw.join(', ')}]`);
  if (o.series !== undefined && (o.series.length === 0 || !o.series.every((n) => /^[A-Za-z0-9_-]+$/.test(n)))) p.push(`series: expected one or more names of files in simulators/data (without .csv), got [${o.series.join(', ')}]`);
  if (!finite(pv.capacityKw) || pv.capacityKw < 0) p.push(`pv.capacityKw: expected >= 0, got ${pv.capacityKw}`);
  if (!finite(b.capacityKwh) || b.capacityKwh <= 0) p.push(`battery.capacityKwh: expected > 0, got ${b.capacityKwh}`);
  if (!finite(b.maxChargeKw) || b.maxChargeKw < 0) p.push(`battery.maxChargeKw: expected >= 0, got ${b.maxChargeKw}`);
  if (!finite(b.maxDischargeKw) || b.maxDischargeKw < 0) p.push(`battery.maxDischargeKw: expected >= 0, got ${b.maxDischargeKw}`);
  if (!finite(b.efficiency) || b.efficiency <= 0 || b.efficiency > 1) p.push(`battery.efficiency: expected a one-way efficiency in (0, 1], got ${b.efficiency}`);
  if (!(b.socMinPct >= 0 && b.socMinPct < b.socMaxPct && b.socMaxPct <= 100)) p.push(`battery SoC limits: expected 0 <= socMinPct < socMaxPct <= 100, got ${b.socMinPct} and ${b.socMaxPct}`);
  else if (!(b.initialSocPct >= b.socMinPct && b.initialSocPct <= b.socMaxPct)) p.push(`battery.initialSocPct: expected within the SoC limits ${b.socMinPct}..${b.socMaxPct}, got ${b.initialSocPct}`);
  return p;
}
