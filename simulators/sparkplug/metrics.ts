/**
 * The node's metric table and the signal each metric follows (pure: no clock, no I/O).
 *
 * Device `Bay01`.. carries feeders of ten measurements each (`Feeder01/Voltage_kV`, ..,
 * `Feeder01/TapPosition`, `Feeder01/BreakerClosed`): eight Doubles, one Int32, one Boolean.
 * Aliases are 1..N over the whole node, so they are unique per node as Sparkplug asks.
 * A value is a slow sine (period and phase drawn from the seed) plus noise drawn from
 * (seed, alias, sample number), so a run is reproducible given its seed and timestamps.
 */
import { DataType } from '../../protocols/sparkplug/index.js';

interface Kind {
  name: string;
  datatype: DataType;
  base: number;
  amplitude: number;
  noise: number;
}

const KINDS: readonly Kind[] = [
  { name: 'Voltage_kV', datatype: DataType.Double, base: 11, amplitude: 0.25, noise: 0.01 },
  { name: 'Current_A', datatype: DataType.Double, base: 200, amplitude: 80, noise: 2 },
  { name: 'ActivePower_kW', datatype: DataType.Double, base: 3000, amplitude: 1200, noise: 20 },
  { name: 'ReactivePower_kvar', datatype: DataType.Double, base: 900, amplitude: 400, noise: 10 },
  { name: 'PowerFactor', datatype: DataType.Double, base: 0.95, amplitude: 0.03, noise: 0.002 },
  { name: 'Frequency_Hz', datatype: DataType.Double, base: 50, amplitude: 0.05, noise: 0.005 },
  { name: 'Temperature_C', datatype: DataType.Double, base: 45, amplitude: 10, noise: 0.2 },
  { name: 'THD_Pct', datatype: DataType.Double, base: 3, amplitude: 1, noise: 0.1 },
  { name: 'TapPosition', datatype: DataType.Int32, base: 9, amplitude: 3, noise: 0 },
  // Closed unless the sine dips below -0.95 of its swing: open for a few percent of each period.
  { name: 'BreakerClosed', datatype: DataType.Boolean, base: 0, amplitude: 1, noise: 0 },
];

export interface MetricDef {
  /** 0-based device index and its Sparkplug device id. */
  device: number;
  deviceId: string;
  name: string;
  alias: number;
  datatype: DataType;
  base: number;
  amplitude: number;
  noise: number;
  periodMs: number;
  phase: number;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');
export const deviceId = (i: number): string => `Bay${pad2(i + 1)}`;

/** A uniform number in [0, 1) from three 32-bit inputs (a murmur-style finaliser: cheap and well mixed). */
export function hashUnit(seed: number, a: number, b: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ a;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) ^ b;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

export function metricTable(devices: number, metricsPerDevice: number, seed: number): MetricDef[][] {
  return Array.from({ length: devices }, (_, d) =>
    Array.from({ length: metricsPerDevice }, (_, i) => {
      const kind = KINDS[i % KINDS.length]!;
      const alias = d * metricsPerDevice + i + 1;
      return {
        device: d,
        deviceId: deviceId(d),
        name: `Feeder${pad2(Math.floor(i / KINDS.length) + 1)}/${kind.name}`,
        alias,
        datatype: kind.datatype,
        base: kind.base,
        amplitude: kind.amplitude,
        noise: kind.noise,
        // 2 to 15 minutes: slow next to any sampling rate, fast enough to see in a short run.
        periodMs: 120_000 + Math.floor(hashUnit(seed, alias, -1) * 780_000),
        phase: hashUnit(seed, alias, -2) * 2 * Math.PI,
      };
    }),
  );
}

/** The value of `m` at `tMs` for its `n`-th sample; Booleans are 0 or 1, Int32s whole. */
export function signalValue(m: MetricDef, seed: number, tMs: number, n: number): number {
  const s = Math.sin((2 * Math.PI * (tMs % m.periodMs)) / m.periodMs + m.phase);
  if (m.datatype === DataType.Boolean) return s > -0.95 ? 1 : 0;
  const v = m.base + m.amplitude * s;
  if (m.datatype === DataType.Int32) return Math.round(v);
  return v + m.noise * (2 * hashUnit(seed, m.alias, n) - 1);
}
