/** What the policy engine judges (a proposed action, in its context) and what it answers. */
import type { ActionType, Outcome, PolicyApproval, PolicyFallback, PolicyOnTimeout } from '../../config/index.js';

export type { ActionType, Outcome };

/** A dispatch action a controller proposes, before any device is touched. */
export interface ProposedAction {
  id: string;
  edgeId: string;
  siteId: string;
  assetId: string;
  action: ActionType;
  /** Active power of the action (discharged, charged, curtailed, shed), kW, >= 0. */
  magnitudeKw?: number;
  /** Share of the asset's output or load (curtailment, shedding), 0-100 %. */
  magnitudePercent?: number;
  /** Energy over the interval, kWh; estimated from kW x duration when absent. */
  energyKwh?: number;
  /** When the action would run: [start, end), ms since the epoch. */
  intervalStartMs: number;
  intervalEndMs: number;
  /** Width of the forecast's confidence band as a fraction of the forecast (0.2 = +-10 %). */
  forecastBandWidth?: number;
  /** The controller that proposed it, for the audit trail. */
  controller?: string;
}

/** The snapshot the action is judged against: passed in, never read by the engine. */
export interface PolicyContext {
  nowMs: number;
  /** Voltage at the asset's bus, per unit; absent when the edge has no good reading. */
  voltagePu?: number;
  /** The battery's state of charge, %; absent when unknown. */
  stateOfChargePct?: number;
  /** Set by the policy store when the active policy expired (also derived from nowMs here). */
  policyExpired: boolean;
  /** False once the hub has been out of reach longer than the edge's bound. */
  hubReachable: boolean;
  /** Autonomous actions executed in the last hour, and their energy today (kWh). */
  autoCountLastHour: number;
  autoEnergyKwhToday: number;
}

/** States a verdict carries so callers can count and show them (never a silent fallback). */
export type VerdictFlag = 'POLICY_EXPIRED' | 'HUB_UNREACHABLE' | 'RATE_LIMITED' | 'CONTEXT_MISSING' | 'INVALID_PROPOSAL' | 'FALLBACK';

/** A named safe fallback as the policy declares it, carried in the verdict so the edge can run it later. */
export interface NamedFallback extends PolicyFallback {
  name: string;
}

export interface Verdict {
  outcome: Outcome;
  /** The deciding rule's id; `default` when none matched, `invalid-proposal` for a malformed one. */
  ruleId: string;
  /** Why, in words and units an operator reads at the console. */
  reasons: string[];
  /** Who must approve, for `escalate`. */
  approval: PolicyApproval | undefined;
  /** What happens when nobody decides in time, for `escalate`. */
  onTimeout: PolicyOnTimeout | undefined;
  flags: VerdictFlag[];
  policyId: string;
  policyVersion: number;
  /** For `escalate` with `onTimeout.then: fallback`: the fallback, resolved from the policy's `fallbacks`. */
  fallback?: NamedFallback;
  /** For `escalate`: who last changed the deciding rule (or the defaults); the hub refuses that person's approval. */
  ruleChangedBy?: string;
}

export type PolicyEvaluator = (action: ProposedAction, ctx: PolicyContext) => Verdict;

/** A policy the engine cannot run (built in code, bypassing the schema). */
export class PolicyEngineError extends Error {
  override readonly name = 'PolicyEngineError';
  constructor(
    readonly code: 'EDGE_POLICY_INVALID',
    message: string,
  ) {
    super(message);
  }
}
