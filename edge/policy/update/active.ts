/**
 * The agent's active policy: the installed signed policy, compiled, and kept current.
 *
 * Input: the trust store (`<dataDir>/trust.db`, provisioned from `trustedRoot` when empty) and,
 * every `everyMs`, an update from `source` (hub URL or directory) through `auditedUpdate`: each
 * install, refusal, expiry and cleared expiry alarm is a record in the audit chain (journal.ts).
 * Output: `current()`, a frozen view whose `evaluate` fills `policyExpired` itself, at the later
 * of the action's `nowMs` and the time floor, so no caller can forget it.
 * State kept: the compiled policy record (replaced whole on install: an evaluation in flight
 * keeps the record it started with), the in-memory time floor, the last refusal code and
 * whether the expiry alarm is raised.
 * Offline is normal: an unreachable source is a refusal (EDGE_TUF_SOURCE_UNAVAILABLE), counted,
 * warned once per code, and tried again next period. A refusal never touches the active policy.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { EdgeAuditLog } from '../../audit/index.js';
import type { Registry } from 'prom-client';
import { parsePolicy } from '../../../config/index.js';
import { createPolicyMetrics } from '../../metrics.js';
import { compilePolicy } from '../engine.js';
import type { PolicyContext, PolicyEvaluator, ProposedAction, Verdict } from '../types.js';
import { TrustStore, trustStatus, type UpdateResult } from './index.js';
import { auditedUpdate, PolicyJournal, policyRef } from './journal.js';

export interface ActivePolicyOptions {
  dataDir: string;
  edgeId: string;
  siteId: string;
  source?: string;
  everyMs: number;
  trustedRoot?: string;
}

export interface ActivePolicyDeps {
  logger: Logger;
  registry: Registry;
  now: () => number;
  /** The edge's audit chain: every install, refusal and expiry is a record in it. */
  audit?: EdgeAuditLog;
  /** Called after the active policy changed: activated, gone, expired or valid again (the uplink tells the hub). */
  onChange?: () => void;
}

/** One active policy, as the dispatcher sees it at one moment. */
export interface ActivePolicyView {
  readonly policyId: string;
  readonly version: number;
  readonly sha256: string;
  /** Earliest expiry of the trust behind it (metadata, assignment), ms since the epoch. */
  readonly expiresMs: number | undefined;
  /** Expired when the view was taken (judged at max(clock, time floor)). */
  readonly expired: boolean;
  evaluate(action: ProposedAction, ctx: Omit<PolicyContext, 'policyExpired'>): Verdict;
}

export interface ActivePolicy {
  /** The active policy, or undefined while none is installed (nothing may then run on its own). */
  current(): ActivePolicyView | undefined;
  /** Runs one period's work now: update from the source (if any), reload, check expiry. */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

/** A policy the agent cannot start with (its trusted root is unreadable or not a root). */
export class ActivePolicyError extends Error {
  override readonly name = 'ActivePolicyError';
  constructor(
    readonly code: 'EDGE_POLICY_TRUSTED_ROOT',
    message: string,
  ) {
    super(message);
  }
}

interface PolicyRecord {
  readonly evaluator: PolicyEvaluator;
  readonly policyId: string;
  readonly version: number;
  readonly sha256: string;
  readonly expiresMs: number | undefined;
  readonly expiredBy: string | undefined;
}

const STOP_GRACE_MS = 2_000;
const isExpired = (r: PolicyRecord, atMs: number): boolean => r.expiresMs === undefined || !(r.expiresMs > atMs);

export function startActivePolicy(options: ActivePolicyOptions, deps: ActivePolicyDeps): ActivePolicy {
  const { now } = deps;
  const log = deps.logger.child({ component: 'policy' });
  const store = new TrustStore(join(options.dataDir, 'trust.db'));
  try {
    if (store.metadata('root') === undefined && options.trustedRoot !== undefined) provision(store, options.trustedRoot, log);
  } catch (e) {
    store.close();
    throw e;
  }

  const journal = new PolicyJournal(deps.audit, now);
  const changed = (): void => {
    try {
      deps.onChange?.();
    } catch (e) {
      log.error({ err: (e as Error).message }, 'policy change listener failed');
    }
  };
  let active: PolicyRecord | undefined;
  let floorMs = store.timeFloorMs();
  let lastRefusal: string | undefined;
  let alarmRaised: boolean | undefined;
  const expiredNow = (): boolean => {
    floorMs = Math.max(floorMs, now());
    return active === undefined || isExpired(active, floorMs);
  };
  const metrics = createPolicyMetrics(deps.registry, () => ({ expired: expiredNow(), policyId: active?.policyId, version: active?.version }));

  /** The expiry alarm: raised once when the active policy expires, cleared once when it is valid again. */
  const noteExpiry = (): void => {
    if (active === undefined) return;
    const expired = isExpired(active, floorMs);
    if (expired === alarmRaised) return;
    const first = alarmRaised === undefined;
    alarmRaised = expired;
    if (first && !expired) return;
    // Noticed by the clock between two syncs, the record does not know yet what ran out: ask the store.
    if (expired) journal.expired(policyRef(active)!, active.expiresMs, active.expiredBy ?? trustStatus(store, floorMs).expiredBy, floorMs);
    else journal.alarmCleared(policyRef(active)!, active.expiresMs);
    const about = { policy: active.policyId, version: active.version, expiresAt: active.expiresMs === undefined ? undefined : new Date(active.expiresMs).toISOString() };
    changed();
    if (expired) log.error({ ...about, code: 'POLICY_EXPIRED', expiredBy: active.expiredBy }, 'POLICY_EXPIRED: the active policy has expired; no action runs on its own until the hub issues a fresh one');
    else log.info(about, 'the active policy is valid again; autonomous actions resume within its rules');
  };

  /** Brings the active record in line with the trust store (an update, or `gridos bundle import` beside the agent). */
  const sync = (): void => {
    const status = trustStatus(store, now());
    floorMs = Math.max(floorMs, status.referenceTimeMs);
    const installed = status.installed;
    if (installed === undefined) {
      // The store was re-provisioned (`provision --reset`): what it vouched for is gone.
      if (active !== undefined) log.warn({ policy: active.policyId, version: active.version }, 'the trust store holds no policy any more (re-provisioned); no policy is active');
      const had = active !== undefined;
      active = undefined;
      alarmRaised = undefined;
      if (had) changed();
      return;
    }
    if (active?.sha256 === installed.sha256) {
      if (active.expiresMs !== status.expiresMs) active = Object.freeze({ ...active, expiresMs: status.expiresMs, expiredBy: status.expiredBy });
      return;
    }
    try {
      const evaluator = compilePolicy(parsePolicy(installed.policyText, installed.target));
      const previous = active;
      active = Object.freeze({ evaluator, policyId: installed.policyId, version: installed.version, sha256: installed.sha256, expiresMs: status.expiresMs, expiredBy: status.expiredBy });
      changed();
      log.info({ policy: installed.policyId, version: installed.version, previous: previous?.version, expiresAt: status.expiresMs === undefined ? undefined : new Date(status.expiresMs).toISOString() }, 'dispatch policy activated');
    } catch (e) {
      metrics.updates.inc({ result: 'refused', code: 'EDGE_POLICY_INVALID' });
      const offered = { policyTarget: installed.target, policyVersion: installed.version, policySha256: installed.sha256 };
      journal.refused({ code: 'EDGE_POLICY_INVALID', message: `the installed policy cannot be compiled; the previous one stays active: ${(e as Error).message}`, offered }, 'trust store', policyRef(active));
      log.error({ code: 'EDGE_POLICY_INVALID', policy: installed.policyId, version: installed.version, active: active?.version, err: (e as Error).message }, 'the installed policy cannot be compiled; the previous one stays active');
    }
  };

  const update = async (source: string): Promise<void> => {
    let r: UpdateResult | { refused: { code: 'EDGE_POLICY_UPDATE_FAILED'; message: string } };
    try {
      r = await auditedUpdate(store, source, { edgeId: options.edgeId, siteId: options.siteId, now, modelsDir: join(options.dataDir, 'models'), fetchTimeoutMs: Math.min(10_000, Math.max(1_000, options.everyMs)) }, journal);
    } catch (e) {
      r = { refused: { code: 'EDGE_POLICY_UPDATE_FAILED', message: `update failed, active policy unchanged: ${(e as Error).message}` } };
      journal.refused(r.refused, source, policyRef(store.installed()));
    }
    if (stopped) return;
    if ('refused' in r) {
      metrics.updates.inc({ result: 'refused', code: r.refused.code });
      if (lastRefusal !== r.refused.code) log.warn({ code: r.refused.code, source }, `${r.refused.message} (repeats of this code are only counted; retried every ${options.everyMs} ms)`);
      else log.debug({ code: r.refused.code, source }, r.refused.message);
      lastRefusal = r.refused.code;
      return;
    }
    metrics.updates.inc({ result: r.installed.changed ? 'installed' : 'unchanged', code: '' });
    if (lastRefusal !== undefined) log.info({ source, was: lastRefusal }, 'policy updates work again');
    lastRefusal = undefined;
  };

  let stopped = false;
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const refresh = async (): Promise<void> => {
    if (options.source !== undefined) await update(options.source);
    if (stopped) return;
    sync();
    noteExpiry();
  };
  const tick = (): void => {
    running = refresh()
      .catch((e: unknown) => log.error({ err: e instanceof Error ? e.message : String(e) }, 'policy refresh failed; retried next period'))
      .finally(() => {
        running = undefined;
        if (!stopped) timer = setTimeout(tick, options.everyMs);
      });
  };

  sync();
  noteExpiry();
  if (active === undefined) log.info({ source: options.source }, 'no dispatch policy installed yet: every action escalates until one is');
  timer = setTimeout(tick, options.source !== undefined ? 0 : options.everyMs);

  return {
    current() {
      const record = active;
      if (record === undefined) return undefined;
      const expired = expiredNow();
      noteExpiry();
      return Object.freeze({
        policyId: record.policyId,
        version: record.version,
        sha256: record.sha256,
        expiresMs: record.expiresMs,
        expired,
        evaluate: (action: ProposedAction, ctx: Omit<PolicyContext, 'policyExpired'>) => record.evaluator(action, { ...ctx, policyExpired: isExpired(record, Math.max(ctx.nowMs, floorMs)) }),
      });
    },
    refresh: async () => {
      await running;
      await refresh();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      // An update stuck on a slow source is abandoned, not awaited for its full deadline.
      if (running) await Promise.race([running, new Promise((ok) => setTimeout(ok, STOP_GRACE_MS).unref())]);
      store.close();
    },
  };
}

function provision(store: TrustStore, file: string, log: Logger): void {
  if (!existsSync(file)) throw new ActivePolicyError('EDGE_POLICY_TRUSTED_ROOT', `policy.trustedRoot ${file}: no such file; copy the hub's 1.root.json there (gridos keys / the hub's registry metadata folder)`);
  try {
    store.provision(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ActivePolicyError('EDGE_POLICY_TRUSTED_ROOT', `policy.trustedRoot ${file} is not a TUF root signed by its own threshold: ${(e as Error).message}`);
  }
  log.info({ trustedRoot: file }, 'trust store provisioned with the hub root');
}
