/**
 * Parts of the dispatch benchmark (bench/dispatch.ts) with one job each: the policy it hands the
 * edge in code, a logger that lets the bench see records as they are written, percentiles, and
 * the floor a durable SQLite commit has on this disk. No state kept.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { pino } from 'pino';
import { policySchema } from '../config/policy.js';
import { validateConfig } from '../config/index.js';
import { compilePolicy, type DispatchPolicyView } from '../edge/index.js';
import { percentile } from './machine.js';

const round = (v: number, d = 2) => Number(v.toFixed(d));

/** `p`, or a rejection naming `what` after `ms`. */
export function within<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/** The policy handed to the edge in code: discharges up to 250 kW run on their own, anything else waits for one operator. */
export function policyView(): DispatchPolicyView {
  const policy = validateConfig(
    policySchema,
    {
      id: 'bench-dispatch',
      version: 1,
      validFrom: '2020-01-01T00:00:00Z',
      validUntil: '2100-01-01T00:00:00Z',
      timeZone: 'UTC',
      defaults: { outcome: 'escalate', approval: { roles: ['operator'], approvers: 1 }, onTimeout: { after: '15 min', then: 'refuse' } },
      rules: [{ id: 'bess-small', action: 'battery_discharge', assets: ['bess-*'], when: { power: { max: '250 kW' }, stateOfCharge: { min: '20 %', max: '90 %' } }, outcome: 'auto' }],
    },
    'bench policy',
  );
  const evaluate = compilePolicy(policy);
  return { policyId: policy.id, version: policy.version, evaluate: (a, c) => evaluate(a, { ...c, policyExpired: false }) };
}

/** A pino logger whose records pass through `onLine` (synchronously, as they are written). */
export function probeLogger(onLine: (line: string) => void) {
  return pino({ level: 'info' }, { write: onLine });
}

/** p50, p99 and max of latencies in ms. */
export function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50Ms: round(percentile(s, 0.5), 3), p99Ms: round(percentile(s, 0.99), 3), maxMs: round(s[s.length - 1] ?? NaN, 3) };
}

/**
 * The floor under any durable journal entry on this disk: one-row commits to SQLite in WAL mode
 * with synchronous = FULL, as the edge's dispatch journal and store are opened (one fsync each).
 */
export function sqliteCommitFloor(dir: string, n = 100) {
  const db = new Database(join(dir, 'commit-floor.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const one = db.transaction((v: string) => insert.run(v));
    const xs: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      one('x'.repeat(1500));
      xs.push(performance.now() - t);
    }
    return stats(xs);
  } finally {
    db.close();
  }
}
