import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../config/index.js';
import { deriveFallback, Dispatcher, DispatchJournal, events, ExecutionAborted, sealProposal, toProposedAction, type DispatcherOptions, type Proposal } from '../../edge/dispatch/index.js';
import { compilePolicy, type PolicyContext } from '../../edge/policy/index.js';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const MIN = 60_000;
const policy = (then: string) =>
  compilePolicy(
    parsePolicy(
      `id: test\nversion: 1\nvalidFrom: "2026-01-01T00:00:00Z"\nvalidUntil: "2026-12-31T00:00:00Z"\ntimeZone: UTC\n` +
        `defaults: { outcome: escalate, approval: { roles: [operator] }, onTimeout: { after: 15 min, then: ${then} } }\n` +
        `fallbacks:\n  bess-idle: { description: keep the battery at zero power, action: { kind: zero } }\n` +
        `  bess-cap: { description: at most 150 kW unattended, action: { kind: cap, maxKw: 150 kW } }\n` +
        `  bess-keep: { description: leave the setpoint as it is, action: { kind: hold-setpoint } }\n` +
        `rules:\n  - { id: small, action: battery_discharge, assets: "*", outcome: auto, when: { power: { max: 250 kW } } }\n  - { id: no-charge, action: battery_charge, assets: "*", outcome: deny }\n`,
      'test.yaml',
    ),
  );
const ctx: PolicyContext = { nowMs: T0, stateOfChargePct: 60, policyExpired: false, hubReachable: true, autoCountLastHour: 0, autoEnergyKwhToday: 0 };

function proposal(kw: number, action: Proposal['action'] = 'battery_discharge', endMs = T0 + 60 * MIN): Proposal {
  return sealProposal({
    controller: 'test', edgeId: 'e1', siteId: 's1', assetId: 'bess-01', action, magnitudeKw: kw, energyKwh: kw / 4,
    intervalStartMs: T0, intervalEndMs: endMs, setpoint: { point: 'bess1.power_setpoint_kw', value: kw, unit: 'kW' }, reason: 'test', forecast: null, measurement: null,
  });
}

let dir: string;
let now: number;
let journal: DispatchJournal;
let written: string[];
let escalated: string[];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gridos-dispatcher-'));
  now = T0;
  journal = new DispatchJournal(join(dir, 'edge.db'), { clock: () => now });
  written = [];
  escalated = [];
});
afterEach(() => {
  journal.close();
  rmSync(dir, { recursive: true, force: true });
});

function dispatcher(over: Partial<DispatcherOptions> = {}, then = 'refuse'): Dispatcher {
  return new Dispatcher({
    journal, evaluate: policy(then), clock: () => now, executeTimeoutMs: 5_000,
    execute: async (p) => void written.push(p.id),
    escalate: (p) => void escalated.push(p.id),
    ...over,
  });
}

describe('the cycle', () => {
  it('auto executes once, escalate goes to the hub, deny is recorded; the same proposals again change nothing', async () => {
    const d = dispatcher();
    const [small, big, charge] = [proposal(200), proposal(400), proposal(100, 'battery_charge')];
    expect(await d.cycle([small, big, charge], ctx)).toEqual({ journaled: 3, duplicates: 0 });
    expect(await d.cycle([small, big, charge], ctx)).toEqual({ journaled: 0, duplicates: 3 });
    expect(written).toEqual([small.id]);
    expect(escalated).toEqual([big.id]);
    expect([small, big, charge].map((p) => journal.get(p.id)?.state)).toEqual(['executed', 'escalated', 'denied']);
    expect(journal.get(big.id)?.verdict.ruleId).toBe('default');
  });

  it('an approval executes, a second decision or one bound to another hash is refused', async () => {
    const d = dispatcher();
    const big = proposal(400);
    await d.cycle([big], ctx);
    expect(await d.onDecision(big.id, 'approve', 'f'.repeat(64))).toMatchObject({ ok: false, error: 'EDGE_DISPATCH_HASH_MISMATCH' });
    expect(await d.onDecision(big.id, 'approve', big.hash)).toMatchObject({ ok: true });
    expect(await d.onDecision(big.id, 'reject')).toMatchObject({ ok: false, error: 'EDGE_DISPATCH_FINAL_STATE' });
    expect(written).toEqual([big.id]);
    expect(journal.get(big.id)?.state).toBe('executed');
  });

  it('a rejection writes nothing', async () => {
    const d = dispatcher();
    const big = proposal(400);
    await d.cycle([big], ctx);
    await d.onDecision(big.id, 'reject');
    expect(written).toEqual([]);
    expect(journal.get(big.id)?.state).toBe('rejected');
  });
});

describe('timeouts on the injected clock', () => {
  it('refuse: expires once afterMs has passed since the escalation', async () => {
    const d = dispatcher();
    const big = proposal(400);
    await d.cycle([big], ctx);
    now = T0 + 15 * MIN - 1;
    await d.tick();
    expect(journal.get(big.id)?.state).toBe('escalated');
    now = T0 + 15 * MIN;
    await d.tick();
    expect(journal.get(big.id)).toMatchObject({ state: 'expired', reason: 'TIMEOUT_REFUSE' });
    expect(await d.onDecision(big.id, 'approve')).toMatchObject({ ok: false });
    expect(written).toEqual([]);
  });

  it('hold: keeps waiting past afterMs, expires when the interval ends', async () => {
    const d = dispatcher({}, 'hold');
    const big = proposal(400);
    await d.cycle([big], ctx);
    now = T0 + 30 * MIN;
    await d.tick();
    expect(journal.get(big.id)?.state).toBe('escalated');
    now = T0 + 60 * MIN;
    await d.tick();
    expect(journal.get(big.id)).toMatchObject({ state: 'expired', reason: 'INTERVAL_PASSED' });
  });

  it('fallback (cap): at afterMs the escalation expires and the capped fallback, linked to it, is written once', async () => {
    const setpoints: number[] = [];
    const d = dispatcher({ execute: async (p) => void (written.push(p.id), setpoints.push(p.setpoint.value)) }, 'fallback, fallback: bess-cap');
    const big = proposal(400);
    await d.cycle([big], ctx);
    expect(journal.get(big.id)?.verdict.fallback).toEqual({ name: 'bess-cap', description: 'at most 150 kW unattended', action: { kind: 'cap', maxKw: 150 } });
    now = T0 + 15 * MIN - 1;
    await d.tick();
    expect(journal.get(big.id)?.state).toBe('escalated');
    expect(written).toEqual([]);
    now = T0 + 15 * MIN;
    await d.tick();
    const all = journal.all();
    expect(all).toHaveLength(2);
    const fb = all[1]!;
    expect(journal.get(big.id)).toMatchObject({ state: 'expired', reason: `TIMEOUT_FALLBACK:bess-cap -> ${fb.proposal.id}` });
    expect(fb.proposal).toMatchObject({ controller: 'fallback', magnitudeKw: 150, setpoint: { value: 150, unit: 'kW' }, fallbackOf: { proposalId: big.id, proposalHash: big.hash, fallback: 'bess-cap' } });
    expect(fb.proposal.id).toMatch(/^fallback-[0-9a-f]{16}$/);
    expect(fb).toMatchObject({ state: 'executed', attempt: 1, verdict: { outcome: 'auto', ruleId: 'default', flags: ['FALLBACK'] } });
    expect(journal.history(fb.proposal.id).map((e) => e.to)).toEqual(['proposed', 'auto', 'executing', 'executed']);
    expect(written).toEqual([fb.proposal.id]);
    expect(setpoints).toEqual([150]);
    // later ticks and cycles change nothing
    now = T0 + 20 * MIN;
    await d.tick();
    await d.cycle([big], ctx);
    expect(written).toEqual([fb.proposal.id]);
    expect(journal.all()).toHaveLength(2);
  });

  it('fallback (zero): writes 0 kW; (hold-setpoint): writes nothing and says so', async () => {
    const zero = dispatcher({}, 'fallback, fallback: bess-idle');
    const a = proposal(400);
    await zero.cycle([a], ctx);
    now = T0 + 15 * MIN;
    await zero.tick();
    const fb = journal.all().find((r) => r.proposal.fallbackOf?.proposalId === a.id)!;
    expect(fb.proposal.setpoint.value).toBe(0);
    expect(fb.state).toBe('executed');

    now = T0;
    const keep = dispatcher({}, 'fallback, fallback: bess-keep');
    const b = proposal(420);
    await keep.cycle([b], ctx);
    now = T0 + 15 * MIN;
    await keep.tick();
    expect(journal.get(b.id)?.state).toBe('expired');
    expect(journal.get(b.id)?.reason).toMatch(/^TIMEOUT_FALLBACK:bess-keep \(HOLD_SETPOINT: /);
    expect(journal.all().filter((r) => r.proposal.fallbackOf?.proposalId === b.id)).toEqual([]);
    expect(written).toEqual([fb.proposal.id]);
  });

  it('a fallback the interlocks refuse is aborted with their reason, nothing written', async () => {
    const d = dispatcher({ execute: () => Promise.reject(new ExecutionAborted('INTERLOCK_SOC_LOW: state of charge 9 %')) }, 'fallback, fallback: bess-cap');
    const big = proposal(400);
    await d.cycle([big], ctx);
    now = T0 + 15 * MIN;
    await d.tick();
    const fb = journal.all().find((r) => r.proposal.controller === 'fallback')!;
    expect(fb).toMatchObject({ state: 'aborted', reason: 'INTERLOCK_SOC_LOW: state of charge 9 %' });
    expect(written).toEqual([]);
  });

  it('a crash after the expiry committed: the fallback is journaled with it and runs once on recover', async () => {
    const first = dispatcher({}, 'fallback, fallback: bess-cap');
    const big = proposal(400);
    await first.cycle([big], ctx);
    now = T0 + 15 * MIN;
    // what tick commits, without the run that follows (the process died in between)
    const r = journal.get(big.id)!;
    const d = deriveFallback(r.proposal, r.verdict);
    if (d.kind !== 'proposal') throw new Error('expected a fallback proposal');
    expect(journal.expireWithFallback(big.id, 'TIMEOUT_FALLBACK:bess-cap', d)).toMatchObject({ ok: true });
    expect(journal.get(d.proposal.id)?.state).toBe('proposed');
    const restarted = dispatcher({}, 'fallback, fallback: bess-cap');
    await restarted.recover();
    await restarted.recover();
    await restarted.tick();
    expect(journal.get(d.proposal.id)?.state).toBe('executed');
    expect(written).toEqual([d.proposal.id]);
    // expiring again is refused by the state machine and journals no second fallback
    expect(journal.expireWithFallback(big.id, 'TIMEOUT_FALLBACK:bess-cap', d)).toMatchObject({ ok: false, error: 'EDGE_DISPATCH_FINAL_STATE' });
    expect(journal.all()).toHaveLength(2);
  });

  it('an approval after the interval ended aborts without writing', async () => {
    const d = dispatcher({}, 'hold');
    const big = proposal(400, 'battery_discharge', T0 + 20 * MIN);
    await d.cycle([big], ctx);
    now = T0 + 20 * MIN;
    await d.onDecision(big.id, 'approve');
    expect(journal.get(big.id)).toMatchObject({ state: 'aborted', reason: 'INTERVAL_PASSED', attempt: 0 });
    expect(written).toEqual([]);
  });
});

describe('execution', () => {
  it('a write that throws is failed with its message', async () => {
    const d = dispatcher({ execute: () => Promise.reject(new Error('EDGE_OPCUA_BAD_STATUS: BadNotWritable')) });
    const small = proposal(200);
    await d.cycle([small], ctx);
    expect(journal.get(small.id)).toMatchObject({ state: 'failed', reason: 'EDGE_OPCUA_BAD_STATUS: BadNotWritable', attempt: 1 });
  });

  it('a write past its deadline is aborted and its signal aborted', async () => {
    let signal: AbortSignal | undefined;
    const d = dispatcher({ executeTimeoutMs: 20, execute: (_p, s) => ((signal = s), new Promise<void>(() => undefined)) });
    const small = proposal(200);
    await d.cycle([small], ctx);
    expect(journal.get(small.id)).toMatchObject({ state: 'aborted', reason: 'DEADLINE_EXCEEDED', attempt: 1 });
    expect(signal?.aborted).toBe(true);
  });
});

describe('recover', () => {
  function interrupted(): Proposal {
    const p = proposal(200);
    journal.propose(p, policy('refuse')(toProposedAction(p), ctx));
    journal.apply(p.id, events.gated('auto'));
    journal.beginExecution(p.id);
    return p;
  }

  type ReadBackFn = NonNullable<DispatcherOptions['readBack']>;
  const cases: [string, ReadBackFn | undefined, string, string][] = [
    ['no read-back', undefined, 'failed', 'INTERRUPTED'],
    ['read-back unknown', async () => 'unknown', 'failed', 'INTERRUPTED'],
    ['read-back throws', () => Promise.reject(new Error('no session')), 'failed', 'INTERRUPTED'],
    ['read-back not reached', async () => 'not_reached', 'failed', 'INTERRUPTED'],
    ['read-back reached', async () => 'reached', 'executed', 'READ_BACK'],
  ];
  it.each(cases)('executing, %s: %s, never written again', async (_name, readBack, state, reason) => {
    const p = interrupted();
    const d = dispatcher(readBack ? { readBack } : {});
    await d.recover();
    expect(journal.get(p.id)).toMatchObject({ state, reason, attempt: 1 });
    expect(written).toEqual([]);
  });

  it('proposed is gated with its stored verdict, escalated is sent again, auto executes', async () => {
    const [a, b] = [proposal(200), proposal(400)];
    const evaluate = policy('refuse');
    journal.propose(a, evaluate(toProposedAction(a), ctx));
    journal.propose(b, evaluate(toProposedAction(b), ctx));
    journal.apply(b.id, events.gated('escalate'));
    await dispatcher().recover();
    expect(written).toEqual([a.id]);
    expect(escalated).toEqual([b.id]);
  });
});
