// Test-only child for test/faults/dispatch-sigkill.test.ts: runs the built dispatcher (dist/) on a
// fixed set of eight proposals, one per path through the state machine (and one escalation that
// times out into a safe fallback, which the dispatcher journals and runs as a ninth), against a
// journal file. With KILL_AT=<state> it freezes the moment a proposal first enters that state
// (right after the commit), writes "AT <state> <id>" on stdout and waits to be SIGKILLed;
// KILL_AT=written freezes inside execute after the device write, before the journal records it;
// KILL_AT=fallback-<state|written> does the same for the fallback proposal only. Without KILL_AT it runs to
// the end and writes "DONE". `execute` appends the proposal id to EXECUTIONS (the "device");
// the read-back looks there. With AUDIT, the dispatch audit feed records every step in that audit
// chain file (reconciled from the journal at start, as the loop does; observed effects due at once).
// Plain ESM JavaScript so node runs it on the built modules as is.
import Database from 'better-sqlite3';
import { appendFileSync, existsSync, readFileSync, writeSync } from 'node:fs';
import pino from 'pino';
import { EdgeAuditLog } from '../../dist/edge/audit/index.js';
import { DispatchAuditFeed, DispatchJournal, Dispatcher, sealProposal } from '../../dist/edge/dispatch/index.js';

const { JOURNAL, EXECUTIONS, ESCALATIONS, KILL_AT, AUDIT } = process.env;
const T0 = Date.parse('2026-12-01T10:00:00Z');
let now = T0;
const clock = () => now;

function freeze(point, id) {
  writeSync(1, `AT ${point} ${id}\n`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // until SIGKILL
}

/** asset -> outcome, and how the scenario treats it. */
const ASSETS = ['auto-ok', 'approve', 'reject', 'timeout', 'deny', 'auto-fail', 'stale', 'fallback'];
const OUTCOME = { 'auto-ok': 'auto', approve: 'escalate', reject: 'escalate', timeout: 'escalate', deny: 'deny', 'auto-fail': 'auto', stale: 'auto', fallback: 'escalate' };
const CAP = { name: 'cap', description: 'at most 40 kW unattended', action: { kind: 'cap', maxKw: 40 } };
const proposals = ASSETS.map((assetId) =>
  sealProposal({
    controller: 'sigkill', edgeId: 'e1', siteId: 's1', assetId, action: 'battery_discharge', magnitudeKw: 100, energyKwh: 25,
    intervalStartMs: assetId === 'stale' ? T0 - 3_600_000 : T0, intervalEndMs: assetId === 'stale' ? T0 - 2_700_000 : T0 + 3_600_000,
    setpoint: { point: `${assetId}.power_setpoint_kw`, value: 100, unit: 'kW' }, reason: 'fault test', forecast: null, measurement: null,
  }),
);
const byAsset = new Map(proposals.map((p) => [p.assetId, p]));

const evaluate = (action) => {
  const outcome = OUTCOME[action.assetId];
  return {
    outcome, ruleId: 'r', reasons: ['fault test'], flags: [], policyId: 'p', policyVersion: 1,
    approval: outcome === 'escalate' ? { roles: ['operator'], approvers: 1 } : undefined,
    onTimeout: outcome !== 'escalate' ? undefined : action.assetId === 'fallback' ? { afterMs: 60_000, then: 'fallback', fallback: 'cap' } : { afterMs: 60_000, then: 'refuse' },
    ...(action.assetId === 'fallback' && { fallback: CAP }),
  };
};
const executed = () => (existsSync(EXECUTIONS) ? readFileSync(EXECUTIONS, 'utf8').split('\n').filter(Boolean) : []);

/** @type {DispatchAuditFeed | undefined} */
let feed;
const journal = new DispatchJournal(JOURNAL, {
  clock,
  onTransition: (record, from, event) => {
    feed?.onTransition(record, from, event);
    if (record.state === KILL_AT) freeze(record.state, record.proposal.id);
    if (record.proposal.controller === 'fallback' && `fallback-${record.state}` === KILL_AT) freeze(KILL_AT, record.proposal.id);
  },
});
const dispatcher = new Dispatcher({
  journal,
  evaluate,
  clock,
  executeTimeoutMs: 10_000,
  execute: async (p) => {
    if (p.assetId === 'auto-fail') throw new Error('device refused the setpoint');
    appendFileSync(EXECUTIONS, `${p.id}\n`);
    if (KILL_AT === 'written') freeze('written', p.id);
    if (KILL_AT === 'fallback-written' && p.controller === 'fallback') freeze(KILL_AT, p.id);
  },
  escalate: (p) => appendFileSync(ESCALATIONS, `${p.id}\n`),
  readBack: async (p) => (executed().includes(p.id) ? 'reached' : 'not_reached'),
});

let auditDb;
if (AUDIT) {
  auditDb = new Database(AUDIT);
  auditDb.pragma('journal_mode = WAL');
  auditDb.pragma('synchronous = FULL');
  const tags = { feederKw: 'feeder.kw', socPct: 'bess.soc', voltagePu: 'bus.pu', batteryKw: 'bess.kw' };
  const read = (tag) => ({ value: tag === 'bess.kw' ? 100 : 50, tsMs: now });
  feed = new DispatchAuditFeed({ audit: new EdgeAuditLog(auditDb, { chainId: 'e1' }), journal, clock, logger: pino({ level: 'silent' }), tags, read, effectAfterMs: 0 });
  feed.reconcile();
}
/** As the loop runs them: a batch of audit records per phase. */
const batch = async (fn) => {
  feed?.hold();
  try {
    await fn();
  } finally {
    feed?.release();
  }
};
await batch(() => dispatcher.recover());
feed?.cycleStarted({ nowMs: now, values: new Map([['feeder.kw', { value: 4200, tsMs: now - 500 }]]), forecast: undefined, policy: { policyId: 'p', version: 1 }, hubReachable: true });
await dispatcher.cycle(proposals, { nowMs: now, policyExpired: false, hubReachable: true, autoCountLastHour: 0, autoEnergyKwhToday: 0 });
feed?.cycleEnded();
// The hub's answers, repeated on every run (a replay after a restart is refused by the journal).
await batch(() => dispatcher.onDecision(byAsset.get('approve').id, 'approve'));
await batch(() => dispatcher.onDecision(byAsset.get('reject').id, 'reject'));
now += 120_000;
await batch(() => dispatcher.tick());
await dispatcher.idle();
await feed?.idle();
journal.close();
auditDb?.close();
writeSync(1, 'DONE\n');
