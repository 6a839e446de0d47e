/**
 * The dispatch loop: one cycle, one frozen snapshot, one writer.
 *
 * Every `everyMs`: build a frozen snapshot (the latest good value of each tag, the newest active
 * forecast of the controller's target, the active policy view, whether the hub is connected), run
 * the peak-shaving controller on it, and hand its proposals to the Dispatcher (journal at
 * `<dataDir>/dispatch.db`), which gates them through the policy:
 *  - auto / approved -> `execute`: the interlocks re-checked right before the write (interlocks.ts;
 *    a violation aborts the proposal with its INTERLOCK_* reason, nothing is written), then the
 *    OPC UA write of the setpoint, read back until the device holds it (device.ts), within
 *    `writeTimeoutMs`;
 *  - escalate -> an Escalation message in the outbox (control lane) for the hub;
 *  - deny -> journaled.
 * No policy installed: every action escalates (rule `no-policy`). The hub unreachable: the
 * policy's own rule applies (ctx.hubReachable = the uplink's connected state).
 * One proposal per controller interval: once the journal holds one for an interval, later cycles
 * in the same interval do not propose again (no re-planning within an interval yet).
 * Hub decisions (`onDecision`) pass the DecisionGate (signature, binding, expiry, single use) and
 * then `dispatcher.onDecision`; without a decision key every decision is refused.
 * With `deps.audit`, the audit feed (audit-feed.ts) records each proposal's trail and every
 * refused decision in the edge's audit chain; the loop only calls its hooks.
 * A cycle is skipped (and logged) while the previous one still runs, or while the agent refuses
 * autonomous actions (outbox full).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { EdgeAuditLog } from '../audit/index.js';
import type { EdgeConfig } from '../../config/index.js';
import { decisionKeyId, signedDecisionFromWire, type Reading, type SignedDecisionWire } from '../../protocols/index.js';
import type { LatestValue, LatestValues } from '../latest-values.js';
import type { PolicyContext, ProposedAction, Verdict } from '../policy/index.js';
import type { EdgeStore } from '../store/edge-store.js';
import { escalationDraft, type DraftContext } from '../uplink/drafts.js';
import { DispatchAuditFeed } from './audit-feed.js';
import { canonicalJson } from './canonical.js';
import { peakShavingController, type ForecastInput, type PeakShavingStatus } from './controllers/peak-shaving.js';
import { DecisionGate } from './decisions.js';
import type { SetpointDevice } from './device.js';
import { Dispatcher, ExecutionAborted, type CycleSummary } from './dispatcher.js';
import { checkInterlocks } from './interlocks.js';
import { CycleLog, type RecordedController } from './cycle-log.js';
import { DispatchJournal } from './journal.js';
import { NewestForecast } from './newest-forecast.js';
import { ReadingTrigger } from './reading-trigger.js';
import { contentOf } from './proposal.js';
import { DispatchError, type Proposal } from './types.js';

type DispatchConfig = EdgeConfig['dispatch'];

/** What the loop needs of a policy: the signed one (`agent.policy.current()`) or one given in code. */
export interface DispatchPolicyView {
  readonly policyId: string;
  readonly version: number;
  evaluate(action: ProposedAction, ctx: Omit<PolicyContext, 'policyExpired'>): Verdict;
}

export interface DispatchLoopDeps {
  config: DispatchConfig;
  edgeId: string;
  siteId: string;
  dataDir: string;
  latest: LatestValues;
  store: EdgeStore;
  draftCtx: DraftContext;
  /** Called after an escalation is in the outbox (the uplink's kick). */
  onOutbox: () => void;
  policy: () => DispatchPolicyView | undefined;
  hubReachable: () => boolean;
  acceptsAutonomousActions: () => boolean;
  device: SetpointDevice;
  logger: Logger;
  clock: () => number;
  /** The edge's audit chain: proposal -> policy outcome -> decision -> execution -> observed effect. */
  audit?: EdgeAuditLog;
  /** Latency probe (bench/dispatch.ts): a proposal formed (the controller's, not held yet), journaled, an escalation committed to the outbox. Must not throw. */
  trace?: (event: DispatchTraceEvent, proposalId: string) => void;
}

export type DispatchTraceEvent = 'formed' | 'journaled' | 'escalation-outboxed';

/** The frozen process image of one cycle. */
export interface CycleSnapshot {
  readonly nowMs: number;
  readonly values: ReadonlyMap<string, Readonly<LatestValue>>;
  readonly socPct: number | undefined;
  readonly voltagePu: number | undefined;
  readonly feederKw: number | undefined;
  readonly forecast: Readonly<ForecastInput> | undefined;
  readonly policy: DispatchPolicyView | undefined;
  readonly hubReachable: boolean;
}

export interface CycleReport {
  status: PeakShavingStatus | 'SKIPPED';
  proposals: string[];
  summary: CycleSummary | undefined;
  note: string;
}

export interface DispatchLoop {
  readonly config: DispatchConfig;
  readonly journal: DispatchJournal;
  readonly dispatcher: Dispatcher;
  /** The audit feed, with `deps.audit` (tests wait on `auditFeed.idle()`). */
  readonly auditFeed: DispatchAuditFeed | undefined;
  /** Runs one cycle now (the timer calls it too). */
  cycle(): Promise<CycleReport>;
  /** Readings as the pipeline passes them: with `dispatch.onReading`, a watched tag's reading starts a cycle (reading-trigger.ts). */
  onReadings(readings: readonly Reading[]): void;
  /** A decision from the hub, as the uplink decoded it. */
  onDecision(wire: SignedDecisionWire): Promise<void>;
  stop(): Promise<void>;
}

const NO_POLICY = (): Verdict => ({
  outcome: 'escalate',
  ruleId: 'no-policy',
  reasons: ['no dispatch policy is installed on this edge: every action escalates to an operator'],
  approval: undefined,
  onTimeout: undefined,
  flags: [],
  policyId: '',
  policyVersion: 0,
});

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v) && !(v instanceof Map)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

function loadDecisionKeys(file: string | undefined): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  if (file === undefined) return keys;
  let key: KeyObject;
  try {
    key = createPublicKey(readFileSync(file));
  } catch (e) {
    throw new DispatchError('EDGE_DISPATCH_CONFIG', `dispatch.decisionKey: cannot read the hub's public decision key from ${file} (${e instanceof Error ? e.message : String(e)}); export it from the hub as a PEM public key, or remove decisionKey to refuse all hub decisions`);
  }
  keys.set(decisionKeyId(key), key);
  return keys;
}

export async function startDispatchLoop(deps: DispatchLoopDeps): Promise<DispatchLoop> {
  const { config, clock, latest, device } = deps;
  const ps = config.peakShaving;
  const il = config.interlocks;
  if (!ps || !il) throw new DispatchError('EDGE_DISPATCH_CONFIG', 'the dispatch loop needs dispatch.peakShaving and dispatch.interlocks');
  const log = deps.logger.child({ component: 'dispatch' });
  // first: a key that cannot be read fails the start before anything is opened
  const trustedKeys = loadDecisionKeys(config.decisionKey);
  const controller: RecordedController = {
    edgeId: deps.edgeId,
    siteId: deps.siteId,
    assetId: ps.assetId,
    setpointPoint: ps.battery.setpointNodeId,
    limitKw: ps.limitKw,
    basis: ps.basis,
    battery: {
      capacityKwh: ps.battery.capacityKwh,
      maxDischargeKw: ps.battery.maxDischargeKw,
      maxChargeKw: ps.battery.maxChargeKw,
      roundTripEfficiency: ps.battery.roundTripEfficiency,
      socMinPct: ps.battery.socMinPct,
      socMaxPct: ps.battery.socMaxPct,
    },
  };
  const control = peakShavingController(controller);

  let feed: DispatchAuditFeed | undefined;
  const journal = new DispatchJournal(join(deps.dataDir, 'dispatch.db'), {
    clock,
    // the cycle log's connection checkpoints the shared WAL, after each cycle's journaling
    autoCheckpoint: false,
    onTransition: (r, from, event) => {
      if (from === null) deps.trace?.('journaled', r.proposal.id);
      log.info({ proposal: r.proposal.id, hash: r.proposal.hash, controller: r.proposal.controller, from, to: r.state, event: event.type, reason: r.reason, rule: r.verdict.ruleId, setpointKw: r.proposal.setpoint.value }, `proposal ${r.proposal.id}: ${from ?? 'new'} -> ${r.state}`);
      feed?.onTransition(r, from, event);
    },
  });

  // What each cycle saw, for the backtest on this edge's store (replay.ts).
  const cycleLog = new CycleLog(join(deps.dataDir, 'dispatch.db'));
  // parsed once per forecast issue, not once per cycle
  const forecast = new NewestForecast(deps.store, ps.forecastTarget);
  const gate = trustedKeys.size > 0 ? new DecisionGate({ db: join(deps.dataDir, 'decisions.db'), trustedKeys, edgeId: deps.edgeId, siteId: deps.siteId, clockMs: clock, timeFloorMs: clock }) : undefined;
  if (!gate) log.warn('no dispatch.decisionKey configured: every decision from the hub will be refused (escalations can only expire)');
  if (deps.audit) {
    feed = new DispatchAuditFeed({
      audit: deps.audit,
      journal,
      clock,
      logger: log,
      tags: { feederKw: ps.feederTag, socPct: ps.battery.socTag, voltagePu: il.voltageTag, ...(ps.battery.powerTag !== undefined && { batteryKw: ps.battery.powerTag }) },
      read: (tag) => latest.get(tag),
      effectAfterMs: config.effectAfterMs,
      forecastIssuedAtMs: (target, startMs) => deps.store.forecasts(target, 8).find((f) => f.role === 'active' && f.firstHourMs === startMs)?.issuedAtMs,
      ...(gate && { admittedDecisions: (id: string) => gate.admittedFor(id) }),
    });
  }

  /** The policy view of the cycle being run: fixed for the whole cycle. */
  let cyclePolicy: DispatchPolicyView | undefined;

  const execute = async (p: Proposal, signal: AbortSignal): Promise<void> => {
    if (p.setpoint.point !== ps.battery.setpointNodeId) throw new DispatchError('EDGE_DISPATCH_DATA', `proposal ${p.id} writes ${p.setpoint.point}, this loop only writes ${ps.battery.setpointNodeId}`);
    const currentSetpointKw = await device.read(p.setpoint.point, signal);
    const now = { socPct: latest.get(ps.battery.socTag)?.value, voltagePu: latest.get(il.voltageTag)?.value, currentSetpointKw };
    feed?.executing(p.id, { fromKw: currentSetpointKw, socPct: now.socPct ?? null, voltagePu: now.voltagePu ?? null });
    const violation = checkInterlocks(p, il, now);
    if (violation) {
      log.warn({ proposal: p.id, code: violation.code }, `interlock: ${violation.message}`);
      throw new ExecutionAborted(`${violation.code}: ${violation.message}`);
    }
    log.info({ proposal: p.id, nodeId: p.setpoint.point, fromKw: currentSetpointKw, toKw: p.setpoint.value }, 'writing setpoint');
    await device.writeAndVerify(p.setpoint.point, p.setpoint.value, signal);
  };

  const dispatcher = new Dispatcher({
    journal,
    clock,
    executeTimeoutMs: config.writeTimeoutMs,
    evaluate: (action, ctx) => {
      const view = cyclePolicy;
      if (!view) return NO_POLICY();
      const { policyExpired: _ignored, ...rest } = ctx;
      return view.evaluate(action, rest);
    },
    execute,
    escalate: (p, verdict) => {
      const nowMs = clock();
      const timeout = verdict.onTimeout;
      const deadlineMs = timeout && timeout.then !== 'hold' ? Math.min(nowMs + timeout.afterMs, p.intervalEndMs) : p.intervalEndMs;
      deps.store.commit({
        outbox: [
          escalationDraft(deps.draftCtx, {
            proposalJson: new TextEncoder().encode(canonicalJson(contentOf(p))),
            proposalHash: p.hash,
            proposalId: p.id,
            verdict: { outcome: verdict.outcome, ruleId: verdict.ruleId, reasons: verdict.reasons, policyId: verdict.policyId, policyVersion: verdict.policyVersion, flags: verdict.flags, ...(verdict.approval ? { approvalRoles: [...verdict.approval.roles], approversRequired: verdict.approval.approvers } : {}), ...(verdict.ruleChangedBy ? { ruleChangedBy: verdict.ruleChangedBy } : {}) },
            escalatedAtMs: nowMs,
            deadlineMs,
          }),
        ],
      });
      deps.trace?.('escalation-outboxed', p.id);
      deps.onOutbox();
      log.info({ proposal: p.id, rule: verdict.ruleId, deadlineMs }, 'escalation queued for the hub');
    },
    readBack: async (p) => {
      const v = await device.read(p.setpoint.point, AbortSignal.timeout(config.writeTimeoutMs));
      return Math.abs(v - p.setpoint.value) <= 0.001 ? 'reached' : 'not_reached';
    },
  });
  // the audit first: what a previous run committed and did not record comes before what recover() does
  try {
    feed?.reconcile();
  } catch (err) {
    // the agent must start even so (dispatch runs, new steps are recorded); the next start reconciles again
    feed?.reconcileFailed();
    log.error({ err: err instanceof Error ? err.message : String(err) }, 'dispatch audit: could not record the steps a previous run committed; the next start tries again');
  }
  feed?.hold();
  try {
    await dispatcher.recover();
  } finally {
    feed?.release();
  }

  const snapshot = (): CycleSnapshot => {
    const nowMs = clock();
    const values = latest.snapshot();
    return deepFreeze({
      nowMs,
      values,
      socPct: values.get(ps.battery.socTag)?.value,
      voltagePu: values.get(il.voltageTag)?.value,
      feederKw: values.get(ps.feederTag)?.value,
      forecast: forecast.get(),
      policy: deps.policy(),
      hubReachable: deps.hubReachable(),
    });
  };

  const autoTally = (nowMs: number) => {
    const dayStartMs = nowMs - (nowMs % 86_400_000);
    // counted in SQL over what changed since the earlier of the two windows: no record of the day parsed
    return journal.autoActivity(nowMs - 3_600_000, dayStartMs);
  };

  let running = false;
  const cycle = async (): Promise<CycleReport> => {
    if (running) return { status: 'SKIPPED', proposals: [], summary: undefined, note: 'previous cycle still running' };
    if (!deps.acceptsAutonomousActions()) {
      log.warn('dispatch cycle skipped: the outbox is full, the edge takes no autonomous action');
      return { status: 'SKIPPED', proposals: [], summary: undefined, note: 'outbox over capacity' };
    }
    running = true;
    try {
      const s = snapshot();
      feed?.cycleStarted(s);
      cyclePolicy = s.policy;
      const result = control({ nowMs: s.nowMs, socPct: s.socPct, forecast: s.forecast, ...(s.feederKw !== undefined && { measuredLoadKw: s.feederKw }) });
      const fresh = result.proposals.filter((p) => !journal.holds(p.controller, p.intervalStartMs));
      for (const p of fresh) deps.trace?.('formed', p.id);
      const tally = autoTally(s.nowMs);
      const cycled = dispatcher.cycle(fresh, {
        nowMs: s.nowMs,
        ...(s.voltagePu !== undefined && { voltagePu: s.voltagePu }),
        ...(s.socPct !== undefined && { stateOfChargePct: s.socPct }),
        policyExpired: false, // the policy view judges its own expiry
        hubReachable: s.hubReachable,
        autoCountLastHour: tally.count,
        autoEnergyKwhToday: tally.energyKwh,
      });
      // Recorded once this cycle's proposals are journaled (dispatcher.cycle runs synchronously up
      // to its first wait): the backtest's record stays off the path from reading to proposal. A
      // record that fails is logged, not fatal: it is for the backtest, not for safety.
      try {
        cycleLog.record({ nowMs: s.nowMs, socPct: s.socPct ?? null, voltagePu: s.voltagePu ?? null, feederKw: s.feederKw ?? null, forecast: s.forecast ?? null, hubReachable: s.hubReachable, policy: s.policy ? { id: s.policy.policyId, version: s.policy.version } : null, controller });
      } catch (err) {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'dispatch cycle not recorded for the backtest');
      }
      const summary = await cycled;
      log.debug({ status: result.status, proposals: fresh.map((p) => p.id), policy: s.policy ? `${s.policy.policyId} v${s.policy.version}` : null, hubReachable: s.hubReachable }, `dispatch cycle: ${result.note}`);
      return { status: result.status, proposals: fresh.map((p) => p.id), summary, note: result.note };
    } finally {
      cyclePolicy = undefined;
      running = false;
      feed?.cycleEnded();
    }
  };

  const refuse = (fields: { proposalId?: unknown; decisionId?: unknown; outcome?: unknown }, code: string, message: string): void => {
    const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
    log.warn({ proposal: fields.proposalId, code }, `hub decision refused: ${message}`);
    const [proposalId, decisionId, outcome] = [str(fields.proposalId), str(fields.decisionId), str(fields.outcome)];
    feed?.decisionRefused({ code, message, ...(proposalId && { proposalId }), ...(decisionId && { decisionId }), ...(outcome && { outcome }) });
  };

  const decide = async (wire: SignedDecisionWire): Promise<void> => {
    const parsed = signedDecisionFromWire(wire);
    if (!parsed.ok) return refuse({}, parsed.code, parsed.message);
    const fields = (parsed.signed as { decision?: { proposalId?: unknown; id?: unknown; outcome?: unknown } }).decision ?? {};
    const said = { proposalId: fields.proposalId, decisionId: fields.id, outcome: fields.outcome };
    const proposalId = fields.proposalId;
    if (!gate) return refuse(said, 'DECISION_NO_KEY', 'no dispatch.decisionKey is configured, so no decision can be verified');
    const record = typeof proposalId === 'string' ? journal.get(proposalId) : undefined;
    if (!record) return refuse(said, 'DECISION_UNKNOWN_PROPOSAL', 'it names no proposal this edge journaled');
    const admitted = gate.admit(parsed.signed, record.proposal);
    if (admitted.status === 'refused') return refuse({ ...said, proposalId: record.proposal.id }, admitted.code, admitted.message);
    const d = admitted.decision;
    log.info({ proposal: d.proposalId, decision: d.id, outcome: d.outcome, approvers: d.approvers }, 'hub decision admitted');
    feed?.decisionAdmitted(d);
    const applied = await dispatcher.onDecision(d.proposalId, d.outcome, d.proposalHash);
    if (!applied.ok) {
      log.warn({ proposal: d.proposalId, error: applied.error, state: applied.state }, 'admitted hub decision could not be applied');
      feed?.decisionNotApplied(d, applied.error, applied.state);
    }
  };

  // a decision and the write it runs: one audit batch, after the write
  const onDecision = async (wire: SignedDecisionWire): Promise<void> => {
    feed?.hold();
    try {
      await decide(wire);
    } finally {
      feed?.release();
    }
  };

  const cycleFailed = (err: unknown) => log.error({ err: err instanceof Error ? err.stack : String(err) }, 'dispatch cycle failed');
  const timer = setInterval(() => {
    cycle().catch(cycleFailed);
  }, config.everyMs);
  // besides the timer: a watched tag's reading starts a cycle at once (debounced)
  const trigger = config.onReading && new ReadingTrigger({ tags: config.onReading.tags, debounceMs: config.onReading.debounceMs, run: cycle, onError: cycleFailed });
  log.info({ everyMs: config.everyMs, onReading: config.onReading ?? null, target: ps.forecastTarget, setpoint: ps.battery.setpointNodeId, decisionKeys: trustedKeys.size }, 'dispatch loop started');

  return {
    config,
    journal,
    dispatcher,
    auditFeed: feed,
    cycle,
    onReadings: (readings) => trigger?.onReadings(readings),
    onDecision,
    async stop() {
      clearInterval(timer);
      trigger?.stop();
      await dispatcher.idle();
      feed?.stop();
      await device.close();
      gate?.close();
      journal.close();
      cycleLog.close();
    },
  };
}
