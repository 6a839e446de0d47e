/**
 * What controllers return: proposals, each a frozen record of one action on one asset over one
 * interval, with the reason in words and units, the forecast it rests on, and the sha256 of its
 * canonical content (the hash an escalation's signed decision is bound to).
 */
import type { FallbackCode } from '../forecast/types.js';

export type DispatchAction = 'battery_discharge' | 'battery_charge' | 'pv_curtailment';

/** The forecast a proposal rests on; `model` and `fallback` say who answered (never both absent). */
export interface ForecastRef {
  target: string;
  /** When the forecast's first hour starts, ms since the epoch. */
  startMs: number;
  /** The series the controller planned on: the central forecast or its p90. */
  basis: 'load' | 'p90';
  /** The forecast for the proposal's interval, kW. */
  loadKw: number;
  p10Kw: number;
  p90Kw: number;
  model: { id: string; version: string; sha256: string } | null;
  /** Set when the seasonal naive answered instead of the model. */
  fallback: FallbackCode | null;
}

/** A measurement-driven proposal's evidence (over-voltage): the readings it acted on. */
export interface MeasurementRef {
  voltagePu: number;
  pvActivePowerKw: number;
  /** Curtailment in force when the proposal was made, % of the PV output. */
  curtailmentPct: number;
}

/** The write the dispatcher would make if the proposal runs (a point tag and its value). */
export interface Setpoint {
  point: string;
  value: number;
  unit: string;
}

/** Everything a proposal says; its hash is taken over exactly this. */
export interface ProposalContent {
  controller: string;
  edgeId: string;
  siteId: string;
  assetId: string;
  action: DispatchAction;
  /** kW moved (discharged, charged, curtailed), >= 0. */
  magnitudeKw: number;
  /** Share of the PV output curtailed, 0-100 %; pv_curtailment only. */
  magnitudePercent?: number;
  /** Energy over the interval, kWh. */
  energyKwh: number;
  /** [start, end), ms since the epoch. */
  intervalStartMs: number;
  intervalEndMs: number;
  setpoint: Setpoint;
  reason: string;
  forecast: ForecastRef | null;
  measurement: MeasurementRef | null;
  /** (p90 - p10) / forecast at the interval; absent when there is no forecast or it is <= 0. */
  forecastBandWidth?: number;
  /** Set on a safe fallback (fallback.ts): the escalated proposal it stands in for, and the policy's fallback name. */
  fallbackOf?: FallbackLink;
}

export interface FallbackLink {
  proposalId: string;
  proposalHash: string;
  fallback: string;
}

export interface Proposal extends ProposalContent {
  /** `<controller>-<first 16 hex of hash>`: the same content always gets the same id. */
  id: string;
  /** sha256 (hex) of the canonical JSON of the content (every field but id and hash). */
  hash: string;
}

/** A controller's configuration or snapshot it cannot work with. Stable codes. */
export class DispatchError extends Error {
  override readonly name = 'DispatchError';
  constructor(
    readonly code: 'EDGE_DISPATCH_CONFIG' | 'EDGE_DISPATCH_SNAPSHOT' | 'EDGE_DISPATCH_DATA',
    message: string,
  ) {
    super(message);
  }
}
