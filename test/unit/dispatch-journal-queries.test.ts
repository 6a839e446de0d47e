/**
 * The dispatch journal's per-cycle queries, which replaced reading the whole journal twice a
 * cycle: `holds` (one proposal per controller interval), `changedSince` (the records of a window)
 * and `autoActivity` (the auto tally over that window, counted without parsing the records).
 * Same answers as a scan, from indexes, also on a journal file opened again.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DispatchJournal, events, sealProposal, type Proposal } from '../../edge/dispatch/index.js';
import type { Verdict } from '../../edge/policy/index.js';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const STEP = 900_000;
let dir: string;
let file: string;
let now: number;
const clock = () => now;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gridos-journal-q-'));
  file = join(dir, 'dispatch.db');
  now = T0;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function proposal(interval: number, controller = 'peak-shaving', kw = 100): Proposal {
  return sealProposal({
    controller, edgeId: 'e1', siteId: 's1', assetId: 'bess-01', action: 'battery_discharge', magnitudeKw: kw, energyKwh: kw / 4,
    intervalStartMs: T0 + interval * STEP, intervalEndMs: T0 + (interval + 1) * STEP, setpoint: { point: 'bess1.power_setpoint_kw', value: kw, unit: 'kW' }, reason: 'test', forecast: null, measurement: null,
  });
}
const auto: Verdict = { outcome: 'auto', ruleId: 'r1', reasons: ['small'], approval: undefined, onTimeout: undefined, flags: [], policyId: 'p', policyVersion: 1 };

describe('holds: one proposal per controller interval', () => {
  it('answers for the controller and interval start, whatever the state, and survives a reopen', () => {
    const j = new DispatchJournal(file, { clock });
    expect(j.holds('peak-shaving', T0 + STEP)).toBe(false);
    j.propose(proposal(1), auto);
    j.propose(proposal(3, 'peak-shaving', 200), auto);
    j.apply(proposal(3, 'peak-shaving', 200).id, events.gated('auto'));
    expect(j.holds('peak-shaving', T0 + STEP)).toBe(true);
    expect(j.holds('peak-shaving', T0 + 3 * STEP)).toBe(true);
    expect(j.holds('peak-shaving', T0 + 2 * STEP)).toBe(false);
    expect(j.holds('over-voltage', T0 + STEP)).toBe(false);
    j.close();
    const again = new DispatchJournal(file, { clock });
    expect(again.holds('peak-shaving', T0 + STEP)).toBe(true);
    expect(again.holds('peak-shaving', T0 + 2 * STEP)).toBe(false);
    again.close();
  });

  it('both are index searches, not scans of the journal (the statements as journal.ts writes them)', () => {
    const db = new Database(join(dir, 'plan.db'));
    const j = new DispatchJournal(db, { clock });
    j.propose(proposal(1), auto);
    const plan = db.prepare("EXPLAIN QUERY PLAN SELECT 1 FROM dispatch_proposals WHERE json_extract(proposal_json, '$.controller') = ? AND json_extract(proposal_json, '$.intervalStartMs') = ? LIMIT 1").all('peak-shaving', T0) as { detail: string }[];
    expect(plan.map((r) => r.detail).join(' ')).toMatch(/SEARCH dispatch_proposals USING (COVERING )?INDEX dispatch_proposals_interval/);
    const since = db.prepare('EXPLAIN QUERY PLAN SELECT * FROM dispatch_proposals INDEXED BY dispatch_proposals_since WHERE state_since_ms >= ? ORDER BY seq').all(T0) as { detail: string }[];
    expect(since.map((r) => r.detail).join(' ')).toMatch(/SEARCH dispatch_proposals USING INDEX dispatch_proposals_since/);
    db.close();
  });
});

describe('changedSince: the records whose state changed in a window', () => {
  it('returns exactly those with stateSinceMs >= the bound, in journal order', () => {
    const j = new DispatchJournal(file, { clock });
    for (let i = 0; i < 5; i++) {
      now = T0 + i * 60_000;
      j.propose(proposal(i), auto);
    }
    now = T0 + 10 * 60_000;
    j.apply(proposal(0).id, events.gated('auto')); // moved late: in the window again
    const got = j.changedSince(T0 + 3 * 60_000);
    expect(got.map((r) => r.proposal.id)).toEqual([proposal(0).id, proposal(3).id, proposal(4).id]);
    expect(got.every((r) => r.stateSinceMs >= T0 + 3 * 60_000)).toBe(true);
    expect(j.changedSince(T0 + 11 * 60_000)).toEqual([]);
    expect(j.changedSince(0).length).toBe(5);
    j.close();
  });
});

describe('autoActivity: the rate-limit counters without parsing the day', () => {
  it('counts and sums what walking changedSince counted: auto, write started, in each window', () => {
    const j = new DispatchJournal(file, { clock });
    const escalate: Verdict = { ...auto, outcome: 'escalate', ruleId: 'r2' };
    // minute i: proposal i; even ones auto and started, 3 auto but never started, 5 escalated and started
    for (let i = 0; i < 8; i++) {
      now = T0 + i * 60_000;
      const p = proposal(i, 'peak-shaving', 100 + 10 * i);
      const verdict = i === 5 ? escalate : auto;
      j.propose(p, verdict);
      j.apply(p.id, events.gated(verdict.outcome));
      if (i === 5) j.apply(p.id, events.decided('approve'));
      if (i % 2 === 0 || i === 5) j.beginExecution(p.id);
    }
    const walk = (countSinceMs: number, energySinceMs: number) => {
      let count = 0;
      let energyKwh = 0;
      for (const r of j.changedSince(Math.min(countSinceMs, energySinceMs))) {
        if (r.verdict.outcome !== 'auto' || r.attempt === 0) continue;
        if (r.stateSinceMs >= countSinceMs) count++;
        if (r.stateSinceMs >= energySinceMs) energyKwh += r.proposal.energyKwh;
      }
      return { count, energyKwh };
    };
    for (const [c, e] of [[T0, T0], [T0 + 3 * 60_000, T0], [T0, T0 + 5 * 60_000], [T0 + 9 * 60_000, T0 + 9 * 60_000]] as const) {
      expect(j.autoActivity(c, e)).toEqual(walk(c, e));
    }
    expect(j.autoActivity(T0, T0)).toEqual({ count: 4, energyKwh: (100 + 120 + 140 + 160) / 4 });
    expect(j.autoActivity(T0 + 3 * 60_000, T0)).toEqual({ count: 2, energyKwh: (100 + 120 + 140 + 160) / 4 });
    j.close();
  });
});
