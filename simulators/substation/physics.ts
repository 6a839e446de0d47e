/**
 * Substation physics (pure, no I/O, time passed in). One state per simulated instant; `step`
 * returns the next state. Deliberately simple, but in the right direction and within limits:
 *  - feeder load follows the replayed data; reactive power at a 0.95 lagging power factor;
 *  - net active power at the feeder head = load - PV output - battery power (discharge > 0);
 *  - voltage drops as net load rises and rises with PV export;
 *  - PV follows a clear-sky bell over the local day, capped by the curtailment limit;
 *  - the battery follows its setpoint within power limits and stops at its SoC limits.
 */
import { HOUR_MS } from './load-profile.js';

export interface PvParams {
  capacityKw: number;
}

export interface BatteryParams {
  capacityKwh: number;
  maxChargeKw: number;
  maxDischargeKw: number;
  socMinPct: number;
  socMaxPct: number;
  /** One-way efficiency, applied on charge and on discharge. */
  efficiency: number;
  initialSocPct: number;
}

export interface PhysicsParams {
  feederPeakKw: readonly number[];
  pv: PvParams;
  battery: BatteryParams;
  /** Per-unit load (0..1) of feeder `i` at naive-local `simMs`. */
  loadPerUnit(feeder: number, simMs: number): number;
}

export interface Inputs {
  curtailmentLimitPct: number;
  batterySetpointKw: number;
}

export interface FeederState {
  loadKw: number;
  activePowerKw: number;
  reactivePowerKvar: number;
  voltagePu: number;
}

export interface SubstationState {
  simTimeMs: number;
  feeders: FeederState[];
  pv: { availableKw: number; activePowerKw: number; curtailmentLimitPct: number };
  battery: { socPct: number; setpointKw: number; activePowerKw: number };
}

export const defaultPv: PvParams = { capacityKw: 1500 };
export const defaultBattery: BatteryParams = {
  capacityKwh: 2000,
  maxChargeKw: 1000,
  maxDischargeKw: 1000,
  socMinPct: 10,
  socMaxPct: 95,
  efficiency: 0.95,
  initialSocPct: 60,
};

const TAN_PHI = Math.tan(Math.acos(0.95));
const SOURCE_VOLTAGE_PU = 1.035;
const VOLTAGE_DROP_AT_PEAK_PU = 0.07;

/** Clear-sky PV: zero at night, a sine bell from 06:00 to 18:00 local, peak at noon. */
export function pvAvailableKw(pv: PvParams, simMs: number): number {
  const hour = (((simMs % 86_400_000) + 86_400_000) % 86_400_000) / HOUR_MS;
  return hour <= 6 || hour >= 18 ? 0 : pv.capacityKw * Math.sin((Math.PI * (hour - 6)) / 12);
}

export function voltagePu(netKw: number, peakKw: number): number {
  return Math.min(1.1, Math.max(0.9, SOURCE_VOLTAGE_PU - (VOLTAGE_DROP_AT_PEAK_PU * netKw) / peakKw));
}

/**
 * Battery power actually delivered over `dtHours` for a setpoint (discharge > 0): clamped to
 * the power limits, and to the energy left before the SoC limit in that direction.
 */
export function batteryPowerKw(b: BatteryParams, socPct: number, setpointKw: number, dtHours: number): number {
  const p = Math.min(b.maxDischargeKw, Math.max(-b.maxChargeKw, setpointKw));
  if (dtHours <= 0) return p;
  if (p > 0) {
    const availableKwh = Math.max(0, ((socPct - b.socMinPct) / 100) * b.capacityKwh * b.efficiency);
    return Math.min(p, availableKwh / dtHours);
  }
  if (p < 0) {
    const roomKwh = Math.max(0, ((b.socMaxPct - socPct) / 100) * b.capacityKwh / b.efficiency);
    return Math.max(p, -roomKwh / dtHours) || 0; // never -0: it reads as "charging" to a sign test
  }
  return 0;
}

/** SoC after delivering `powerKw` for `dtHours`. */
export function nextSocPct(b: BatteryParams, socPct: number, powerKw: number, dtHours: number): number {
  const cellKwh = powerKw > 0 ? (powerKw * dtHours) / b.efficiency : powerKw * dtHours * b.efficiency;
  return Math.min(b.socMaxPct, Math.max(b.socMinPct, socPct - (cellKwh / b.capacityKwh) * 100));
}

function observe(params: PhysicsParams, simTimeMs: number, socPct: number, inputs: Inputs, batteryKw: number): SubstationState {
  const availableKw = pvAvailableKw(params.pv, simTimeMs);
  const pvKw = Math.min(availableKw, (params.pv.capacityKw * inputs.curtailmentLimitPct) / 100);
  const feeders = params.feederPeakKw.map((peakKw, i) => {
    const loadKw = params.loadPerUnit(i, simTimeMs) * peakKw;
    const activePowerKw = i === 0 ? loadKw - pvKw - batteryKw : loadKw;
    return { loadKw, activePowerKw, reactivePowerKvar: loadKw * TAN_PHI, voltagePu: voltagePu(activePowerKw, peakKw) };
  });
  return {
    simTimeMs,
    feeders,
    pv: { availableKw, activePowerKw: pvKw, curtailmentLimitPct: inputs.curtailmentLimitPct },
    battery: { socPct, setpointKw: inputs.batterySetpointKw, activePowerKw: batteryKw },
  };
}

export function initialState(params: PhysicsParams, simTimeMs: number, inputs: Inputs): SubstationState {
  return observe(params, simTimeMs, params.battery.initialSocPct, inputs, 0);
}

/** Advances the substation by `dtSimMs` of simulated time under `inputs`. */
export function step(params: PhysicsParams, state: SubstationState, dtSimMs: number, inputs: Inputs): SubstationState {
  const dtHours = dtSimMs / HOUR_MS;
  const batteryKw = batteryPowerKw(params.battery, state.battery.socPct, inputs.batterySetpointKw, dtHours);
  const socPct = nextSocPct(params.battery, state.battery.socPct, batteryKw, dtHours);
  return observe(params, state.simTimeMs + dtSimMs, socPct, inputs, batteryKw);
}
