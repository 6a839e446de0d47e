/**
 * Local interlocks: the last check before a device write, pure. A proposal the policy let through
 * (auto, or approved at the hub) is still refused here when the battery's state of charge, the
 * bus voltage or the size of the setpoint step says the write is unsafe now.
 *
 * Input: the proposal's setpoint, the readings of the moment (unknown = refused: never guessed) and
 * the setpoint the device holds now. Output: null (safe) or the reason, with a stable code first.
 */
import type { Proposal } from './types.js';

export interface InterlockLimits {
  socMinPct: number;
  socMaxPct: number;
  voltageBandPu: readonly [number, number];
  maxStepKw: number;
}

export interface InterlockInputs {
  socPct: number | undefined;
  voltagePu: number | undefined;
  /** What the device's setpoint is now, kW (discharge > 0). */
  currentSetpointKw: number;
}

export type InterlockCode = 'INTERLOCK_SOC_UNKNOWN' | 'INTERLOCK_SOC_LOW' | 'INTERLOCK_SOC_HIGH' | 'INTERLOCK_VOLTAGE_UNKNOWN' | 'INTERLOCK_VOLTAGE_BAND' | 'INTERLOCK_STEP';

export interface InterlockViolation {
  code: InterlockCode;
  message: string;
}

export function checkInterlocks(p: Proposal, limits: InterlockLimits, now: InterlockInputs): InterlockViolation | null {
  const target = p.setpoint.value;
  const { socPct, voltagePu, currentSetpointKw } = now;
  if (p.action === 'battery_discharge' || p.action === 'battery_charge') {
    if (socPct === undefined) return { code: 'INTERLOCK_SOC_UNKNOWN', message: `no good state of charge reading for ${p.assetId}: no write` };
    if (target > 0 && socPct <= limits.socMinPct) return { code: 'INTERLOCK_SOC_LOW', message: `state of charge ${socPct} % at or below the interlock's ${limits.socMinPct} %: no discharge` };
    if (target < 0 && socPct >= limits.socMaxPct) return { code: 'INTERLOCK_SOC_HIGH', message: `state of charge ${socPct} % at or above the interlock's ${limits.socMaxPct} %: no charge` };
  }
  const [lo, hi] = limits.voltageBandPu;
  if (voltagePu === undefined) return { code: 'INTERLOCK_VOLTAGE_UNKNOWN', message: 'no good voltage reading: no write' };
  if (voltagePu < lo || voltagePu > hi) return { code: 'INTERLOCK_VOLTAGE_BAND', message: `voltage ${voltagePu} pu outside the band ${lo}-${hi} pu: no write` };
  const step = Math.abs(target - currentSetpointKw);
  if (step > limits.maxStepKw) return { code: 'INTERLOCK_STEP', message: `setpoint step ${currentSetpointKw} -> ${target} kW is ${step} kW, above the interlock's ${limits.maxStepKw} kW: no write` };
  return null;
}
