/**
 * @module edge/dispatch
 * Controllers (pure functions of a snapshot, returning sealed proposals), proposal hashing over
 * canonical JSON, the mapping onto the policy engine's `ProposedAction`, the policy backtest, and
 * the dispatcher (states.ts: the pure state machine; journal.ts: SQLite; dispatcher.ts: the cycle).
 *
 * @example
 *   const control = peakShavingController({ edgeId: 'e1', siteId: 's1', assetId: 'bess-01', setpointPoint: 'bess1.power_setpoint_kw', limitKw: 3400, basis: 'p90',
 *     battery: { capacityKwh: 2000, maxDischargeKw: 1000, maxChargeKw: 1000, roundTripEfficiency: 0.9, socMinPct: 10, socMaxPct: 95 } });
 *   const { proposals } = control({ nowMs, socPct: 62, forecast });
 *   for (const p of proposals) verdicts.push(evaluate(toProposedAction(p), policyContext));
 */
export { canonicalJson, canonicalSha256, CanonicalJsonError } from './canonical.js';
export { sealProposal, proposalIntact, toProposedAction } from './proposal.js';
export { DispatchError } from './types.js';
export type { DispatchAction, FallbackLink, ForecastRef, MeasurementRef, Proposal, ProposalContent, Setpoint } from './types.js';
export { planPeakShaving } from './controllers/peak-shaving-plan.js';
export type { BatteryLimits, Plan, PlanInput } from './controllers/peak-shaving-plan.js';
export { peakShavingController } from './controllers/peak-shaving.js';
export type { ForecastInput, PeakShavingConfig, PeakShavingResult, PeakShavingSnapshot, PeakShavingStatus } from './controllers/peak-shaving.js';
export { overVoltageController } from './controllers/over-voltage.js';
export type { OverVoltageConfig, OverVoltageResult, OverVoltageSnapshot, OverVoltageStatus } from './controllers/over-voltage.js';
export { runPolicyBacktest, scaleSeries } from './backtest.js';
export type { BacktestDay, BacktestOptions, BacktestReport, DayAheadForecaster, OutcomeTally } from './backtest.js';
export { formatBacktestTable, formatStoreBacktestTable } from './backtest-format.js';
export { CycleLog, readRecordedCycles } from './cycle-log.js';
export type { RecordedCycle, RecordedController } from './cycle-log.js';
export { replayRecordedCycles } from './replay.js';
export type { ReplayedProposal, StoreBacktestDay, StoreBacktestReport } from './replay.js';
export { DecisionGate } from './decisions.js';
export type { AdmitResult, DecisionGateOptions, DecisionRefusalCode } from './decisions.js';
export { DISPATCH_STATES, FINAL_STATES, isFinal, events, transition, onRestart, recoveryOf } from './states.js';
export type { DispatchState, DispatchEvent, Decision, TransitionErrorCode, TransitionResult, RestartAction, ReadBack } from './states.js';
export { DispatchJournal } from './journal.js';
export type { DispatchRecord, DispatchEventRecord, JournalErrorCode, ApplyResult, JournalOptions } from './journal.js';
export { Dispatcher, ExecutionAborted, timeoutReason } from './dispatcher.js';
export { checkInterlocks } from './interlocks.js';
export { deriveFallback, fallbackReason, FALLBACK_CONTROLLER } from './fallback.js';
export type { FallbackDerivation } from './fallback.js';
export type { InterlockCode, InterlockInputs, InterlockLimits, InterlockViolation } from './interlocks.js';
export { DispatchAuditFeed } from './audit-feed.js';
export type { DispatchAuditFeedOptions, RefusedDecision } from './audit-feed.js';
export { auditedKinds, kindsOfStep } from './audit-records.js';
export type { AuditStep, CycleFacts, ExecutionInputs, TelemetryTags } from './audit-records.js';
export { startDispatchLoop } from './loop.js';
export type { DispatchLoop, DispatchLoopDeps, DispatchPolicyView, CycleReport } from './loop.js';
export type { DispatcherOptions, CycleSummary, DecisionResult } from './dispatcher.js';
