/**
 * @module edge/policy
 * The dispatch policy engine: pure, no I/O, time passed in. Semantics in engine.ts.
 *
 * @example
 *   const evaluate = compilePolicy(loadPolicy('config/policy.example.yaml'));
 *   const v = evaluate(
 *     { id: 'p1', edgeId: 'e1', siteId: 's1', assetId: 'bess-01', action: 'battery_discharge', magnitudeKw: 180, forecastBandWidth: 0.1, intervalStartMs: t, intervalEndMs: t + 900_000 },
 *     { nowMs: t, stateOfChargePct: 55, policyExpired: false, hubReachable: true, autoCountLastHour: 0, autoEnergyKwhToday: 0 },
 *   );
 *   // v.outcome === 'auto', v.ruleId === 'bess-small', v.reasons[1] === 'discharge 180 kW <= 250 kW (rule bess-small)'
 */
export { compilePolicy } from './engine.js';
export { PolicyEngineError } from './types.js';
export type { ProposedAction, PolicyContext, Verdict, VerdictFlag, NamedFallback, PolicyEvaluator, ActionType, Outcome } from './types.js';
