/**
 * The signed policy's life in the edge's audit chain (`<dataDir>/audit.db`): one record per
 * install (`policy.installed`), refusal (`policy.refused`), transition into expiry
 * (`policy.expired`) and the expiry alarm cleared (`policy.alarm`). The agent's periodic update
 * and `gridos bundle import` both go through `auditedUpdate`, so both write the same records.
 *
 * De-duplication: an agent polling a source that keeps offering the same refused update would
 * otherwise add a record every period. A refusal is recorded once per distinct (code, what was
 * offered) in a row; the key is forgotten when something changes (an install, a different
 * refusal). The key lives in memory: a restarted agent, or each `gridos bundle import` run (an
 * operator's deliberate act), records the refusal it meets once more.
 *
 * The trust store and the audit chain are two files: a process killed between an activation and
 * its record leaves the install unrecorded (never a record of an install that did not happen).
 *
 * Input: the audit log (optional: without one, nothing is written), the clock, the trust store.
 * State: the last refusal key.
 */
import type { EdgeAuditLog } from '../../audit/index.js';
import type { JsonValue } from '../../../protocols/audit/canonical.js';
import type { AuditKind } from '../../../protocols/audit/index.js';
import type { OfferedUpdate, UpdateRefusal } from './refusal.js';
import { trustStatus } from './status.js';
import type { InstalledPolicy, TrustStore } from './trust-store.js';
import { updateFrom, type UpdateOptions, type UpdateResult } from './update.js';

/** The active policy as a record names it; null when none is active. */
export interface PolicyRef {
  policyId: string;
  version: number;
  sha256: string;
}

export class PolicyJournal {
  private lastRefusalKey: string | undefined;

  constructor(
    private readonly audit: EdgeAuditLog | undefined,
    private readonly now: () => number,
  ) {}

  /** An accepted update that changed the installed policy. */
  installed(store: TrustStore, source: string, previous: PolicyRef | undefined): void {
    this.lastRefusalKey = undefined;
    const st = trustStatus(store, this.now());
    const p = st.installed;
    if (p === undefined) return;
    const targets = store.metadata('targets');
    this.append('policy.installed', { policyId: p.policyId }, {
      policyId: p.policyId,
      version: p.version,
      sha256: p.sha256,
      target: p.target,
      targetsVersion: targets === undefined ? null : (JSON.parse(targets) as { signed: { version: number } }).signed.version,
      assignmentVersion: store.assignment().version,
      expiresMs: st.expiresMs ?? null,
      source,
      previous: previous === undefined ? null : { ...previous },
    });
  }

  /** A refused update (or an installed policy that does not compile); recorded once per (code, offered) in a row. */
  refused(refusal: Omit<UpdateRefusal, 'code'> & { code: string }, source: string, active: PolicyRef | undefined): boolean {
    const offered: OfferedUpdate = refusal.offered ?? {};
    const key = `${refusal.code}|${canonicalOffered(offered)}|${active?.sha256 ?? ''}`;
    if (key === this.lastRefusalKey) return false;
    this.lastRefusalKey = key;
    const subject: Record<string, string> = active === undefined ? {} : { policyId: active.policyId };
    this.append('policy.refused', subject, { code: refusal.code, message: refusal.message, source, offered: { ...offered }, active: active === undefined ? null : { ...active } });
    return true;
  }

  /** An accepted update that left the installed policy as it was: the next refusal is news again. */
  unchanged(): void {
    this.lastRefusalKey = undefined;
  }

  /** The active policy entered expiry (its trust ran out at `expiresMs`, first `expiredBy`). */
  expired(active: PolicyRef, expiresMs: number | undefined, expiredBy: string | undefined, referenceTimeMs: number): void {
    this.append('policy.expired', { policyId: active.policyId }, { ...active, code: 'POLICY_EXPIRED', expiresMs: expiresMs ?? null, expiredBy: expiredBy ?? null, referenceTimeMs });
  }

  /** The expiry alarm cleared: the active policy is vouched for again. */
  alarmCleared(active: PolicyRef, expiresMs: number | undefined): void {
    this.append('policy.alarm', { policyId: active.policyId }, { ...active, alarm: 'POLICY_EXPIRED', state: 'cleared', expiresMs: expiresMs ?? null });
  }

  private append(kind: AuditKind, subject: Record<string, string>, body: JsonValue): void {
    this.audit?.append({ atMs: Math.floor(this.now()), kind, subject, body });
  }
}

export const policyRef = (p: InstalledPolicy | PolicyRef | undefined): PolicyRef | undefined => p && { policyId: p.policyId, version: p.version, sha256: p.sha256 };

/**
 * One update from `source` with its audit record: `policy.installed` when the installed policy
 * changed, `policy.refused` (de-duplicated) when refused. An unchanged install writes nothing.
 */
export async function auditedUpdate(store: TrustStore, source: string, options: UpdateOptions, journal: PolicyJournal): Promise<UpdateResult> {
  const before = policyRef(store.installed());
  const r = await updateFrom(store, source, options);
  if ('refused' in r) journal.refused(r.refused, source, before);
  else if (r.installed.changed) journal.installed(store, source, before);
  else journal.unchanged();
  return r;
}

function canonicalOffered(o: OfferedUpdate): string {
  return [o.targetsVersion, o.assignmentVersion, o.policyTarget, o.policyVersion, o.policySha256].map((v) => v ?? '').join(',');
}
