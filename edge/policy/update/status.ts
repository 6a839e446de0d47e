/**
 * Is the active policy still vouched for? Its trust runs out at the earliest expiry among the
 * trusted root, timestamp, snapshot and targets metadata and the accepted assignment, judged at
 * max(clock, time floor). An expired trust state means POLICY_EXPIRED for the policy engine: every
 * action escalates. Reading the status records the clock reading in the floor.
 */
import type { InstalledPolicy, TrustStore } from './trust-store.js';
import { TRUSTED_ROLES } from './trust-store.js';

export interface TrustStatus {
  referenceTimeMs: number;
  installed: InstalledPolicy | undefined;
  /** Earliest expiry; undefined when nothing is installed. */
  expiresMs: number | undefined;
  expired: boolean;
  /** What expired first, e.g. 'timestamp metadata' or 'assignment'. */
  expiredBy: string | undefined;
}

export function trustStatus(store: TrustStore, nowMs: number): TrustStatus {
  const referenceTimeMs = store.observeClock(nowMs);
  const installed = store.installed();
  if (!installed) return { referenceTimeMs, installed, expiresMs: undefined, expired: true, expiredBy: 'no policy installed' };
  const expiries: [string, number][] = [];
  for (const role of TRUSTED_ROLES) {
    const json = store.metadata(role);
    if (json !== undefined) expiries.push([`${role} metadata`, Date.parse((JSON.parse(json) as { signed: { expires: string } }).signed.expires)]);
  }
  const a = store.assignment().json;
  if (a !== undefined) expiries.push(['assignment', Date.parse((JSON.parse(a) as { signed: { expires: string } }).signed.expires)]);
  expiries.sort((x, y) => x[1] - y[1]);
  const first = expiries[0];
  const expiresMs = first?.[1];
  const expired = expiresMs === undefined || !(expiresMs > referenceTimeMs);
  return { referenceTimeMs, installed, expiresMs, expired, expiredBy: expired ? first?.[0] : undefined };
}
