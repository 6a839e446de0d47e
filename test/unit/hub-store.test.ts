/** The hub store on a real SQLite file: exactly-once receipt, gaps, stream reset, link state, voltage limits. */
import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HubStore } from '../../hub/index.js';
import { Quality, type Payload } from '../../protocols/index.js';

let store: HubStore;
afterEach(() => store?.close());
const fresh = () => (store = new HubStore(join(mkdtempSync(join(tmpdir(), 'gridos-hubstore-')), 'hub.db')));

const telemetry = (ts: number, value = 1): Payload => ({ kind: 'telemetry', readings: [{ tagId: 't', tsMs: ts, value, quality: Quality.Good }] });
const birth = (streamId: string): Payload => ({ kind: 'birth', birth: { agentVersion: '1', configHash: 'h', startedAtMs: 0, streamId, tags: [], voltageLimits: [] } });
const recv = (seq: number, payload: Payload) => store.receive({ edgeId: 'e', siteId: 's', seq, nowMs: 1000 + seq, payload });
const edge = () => store.edges()[0]!;

describe('HubStore', () => {
  it('stores each seq once, whatever the order, and summarises contiguous seqs in acked_through', () => {
    fresh();
    expect(recv(1, birth('A')).fresh).toBe(true);
    expect(recv(3, telemetry(3)).fresh).toBe(true);
    expect(edge().ackedThrough).toBe(1);
    expect(recv(2, telemetry(2)).fresh).toBe(true);
    expect(edge().ackedThrough).toBe(3);
    expect(recv(2, telemetry(2, 99)).fresh).toBe(false);
    expect(recv(3, telemetry(3, 99)).fresh).toBe(false);
    expect(store.readings('e', 't', 0, 10, 10)).toEqual([
      { tsMs: 2, value: 1, quality: 0, flags: 0 },
      { tsMs: 3, value: 1, quality: 0, flags: 0 },
    ]);
  });

  it('a gap accounts for the dropped seqs, so acked_through moves past them, and is listed', () => {
    fresh();
    recv(1, birth('A'));
    recv(5, { kind: 'gap', gap: { reason: 'outbox_full', droppedSeqs: [{ fromSeq: 2, toSeq: 4 }], readings: 300, fromTsMs: 10, toTsMs: 20 } });
    expect(edge().ackedThrough).toBe(5);
    expect(store.gaps('e')).toEqual([{ seq: 5, reason: 'outbox_full', readings: 300, fromTsMs: 10, toTsMs: 20, droppedSeqs: '2-4', receivedMs: 1005 }]);
  });

  it('a birth from a new store (wiped gateway) starts the sequence over instead of looking like duplicates', () => {
    fresh();
    recv(1, birth('A'));
    recv(2, telemetry(2));
    expect(recv(1, birth('B')).fresh).toBe(true);
    expect(recv(2, telemetry(50)).fresh).toBe(true);
    expect(store.readings('e', 't', 0, 100, 10).map((r) => r.tsMs)).toEqual([2, 50]);
    expect(edge()).toMatchObject({ streamId: 'B', ackedThrough: 2 });
  });

  it("keeps the voltage limits of the edge's last birth; a birth without them (an older edge) reports none", () => {
    fresh();
    const limits = [{ tagId: 'feeder1.voltage_pu', interlockLowPu: 0.95, interlockHighPu: 1.04 }];
    recv(1, { kind: 'birth', birth: { agentVersion: '2', configHash: 'h', startedAtMs: 0, streamId: 'A', tags: [], voltageLimits: limits } });
    expect(edge().voltageLimits).toEqual(limits);
    recv(2, birth('A'));
    expect(edge().voltageLimits).toEqual([]);
  });

  it('a store written before voltage limits were kept gains the column, with none reported', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'gridos-hubstore-')), 'hub.db');
    store = new HubStore(path);
    recv(1, birth('A'));
    store.close();
    const db = new Database(path);
    db.exec('ALTER TABLE edges DROP COLUMN voltage_limits_json');
    db.close();
    store = new HubStore(path);
    expect(edge()).toMatchObject({ streamId: 'A', voltageLimits: [] });
  });

  it('counts readings that another message already stored', () => {
    fresh();
    recv(1, telemetry(7));
    expect(recv(2, telemetry(7))).toEqual({ fresh: true, duplicateReadings: 1 });
  });

  it('keeps the latest link state and backlog, and when it changed', () => {
    fresh();
    store.updateState('e', 's', { online: true, reason: 'connected', outbox: { messages: 3, bytes: 30, readings: 200, oldestMs: 5 } }, 100);
    store.updateState('e', 's', { online: true, reason: 'connected', outbox: { messages: 1, bytes: 10, readings: 50, oldestMs: 9 } }, 200);
    expect(edge()).toMatchObject({ online: true, stateChangedMs: 100, backlog: { messages: 1, bytes: 10, readings: 50, oldestMs: 9 } });
    store.updateState('e', 's', { online: false, reason: 'connection lost', outbox: { messages: 0, bytes: 0, readings: 0, oldestMs: 0 } }, 300);
    expect(edge()).toMatchObject({ online: false, stateReason: 'connection lost', stateChangedMs: 300 });
  });
});
