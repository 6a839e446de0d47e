/** The edge outbox on a real SQLite file: sequence, lanes, bounds, gaps, acknowledgement. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EdgeStore } from '../../edge/store/edge-store.js';
import { Lane, type OutboxLimits } from '../../edge/store/lanes.js';
import type { Gap } from '../../protocols/index.js';

const stores: EdgeStore[] = [];
afterEach(() => {
  while (stores.length) stores.pop()!.close();
});

function open(limits: Partial<OutboxLimits> = {}, now = () => 1_000_000, path = join(mkdtempSync(join(tmpdir(), 'gridos-store-')), 'edge.db')) {
  const gaps: Gap[] = [];
  const store = new EdgeStore(path, {
    limits: { maxBytes: 10_000, maxAgeMs: 60_000, dropPolicy: 'oldest', ...limits },
    gapDraft: (gap) => {
      gaps.push(gap);
      return { kind: 'gap', lane: Lane.Event, encode: () => Buffer.from('gap') };
    },
    now,
  });
  stores.push(store);
  return { store, gaps, path };
}

const draft = (lane: Lane, bytes: number, readings = 0, ts = 0) => ({ kind: lane === Lane.Telemetry ? 'telemetry' : 'birth', lane, readings, firstTsMs: ts, lastTsMs: ts + 1, encode: () => Buffer.alloc(bytes) });

describe('EdgeStore outbox', () => {
  it('numbers messages 1, 2, 3 ... across commits and reopenings, and keeps its stream id', () => {
    const { store, path } = open();
    expect(store.commit({ outbox: [draft(Lane.Event, 10), draft(Lane.Telemetry, 10)] })).toEqual([1, 2]);
    expect(store.commit({ outbox: [draft(Lane.Telemetry, 10)] })).toEqual([3]);
    const id = store.streamId;
    store.close();
    stores.pop();
    const again = open({}, undefined, path).store;
    expect(again.commit({ outbox: [draft(Lane.Telemetry, 10)] })).toEqual([4]);
    expect(again.streamId).toBe(id);
    expect(again.outboxDepth()).toBe(4);
    expect(again.outboxBytes()).toBe(40);
  });

  it('lists each lane in seq order and forgets only acknowledged ranges', () => {
    const { store } = open();
    store.commit({ outbox: [draft(Lane.Telemetry, 1), draft(Lane.Event, 1), draft(Lane.Telemetry, 1), draft(Lane.Control, 1)] });
    expect(store.outboxInLane(Lane.Telemetry, 0, Number.MAX_SAFE_INTEGER, 10).map((m) => m.seq)).toEqual([1, 3]);
    expect(store.outboxInLane(Lane.Telemetry, 1, Number.MAX_SAFE_INTEGER, 10).map((m) => m.seq)).toEqual([3]);
    expect(store.outboxInLane(Lane.Telemetry, 0, 3, 10).map((m) => m.seq)).toEqual([1]);
    expect(store.acknowledge(2, 3)).toBe(2);
    expect(store.acknowledge(2, 3)).toBe(0);
    expect(store.oldestWaiting()?.seq).toBe(1);
    expect(store.outboxDepth()).toBe(2);
  });

  it('over its byte bound it drops the oldest raw telemetry, never other lanes, and records the gap', () => {
    const { store, gaps } = open({ maxBytes: 1000 });
    store.commit({ outbox: [draft(Lane.Event, 100), draft(Lane.Aggregate, 100)] });
    for (let i = 0; i < 10; i++) store.commit({ outbox: [draft(Lane.Telemetry, 100, 50, i * 1000)] });
    // the 9th telemetry message makes 1,100 bytes: the oldest go until <= 900 (then the 3-byte gap);
    // the 10th makes 1,003: again down to <= 900, two more go
    expect(gaps).toEqual([
      { reason: 'outbox_full', readings: 100, fromTsMs: 0, toTsMs: 1001, droppedSeqs: [{ fromSeq: 3, toSeq: 4 }] },
      { reason: 'outbox_full', readings: 100, fromTsMs: 2000, toTsMs: 3001, droppedSeqs: [{ fromSeq: 5, toSeq: 6 }] },
    ]);
    expect(store.outboxInLane(Lane.Event, 0, Number.MAX_SAFE_INTEGER, 10).map((m) => m.kind)).toEqual(['birth', 'gap', 'gap']);
    expect(store.outboxInLane(Lane.Aggregate, 0, Number.MAX_SAFE_INTEGER, 10)).toHaveLength(1);
    expect(store.outboxBytes()).toBeLessThanOrEqual(1000);
    expect(store.dropped).toEqual({ messages: 4, readings: 200 });
    expect(store.overCapacity).toBe(false);
  });

  it('with dropPolicy newest it keeps the history and drops what just came', () => {
    const { store, gaps } = open({ maxBytes: 1000, dropPolicy: 'newest' });
    for (let i = 0; i < 11; i++) store.commit({ outbox: [draft(Lane.Telemetry, 100, 10, i)] });
    expect(gaps[0]?.droppedSeqs).toEqual([{ fromSeq: 10, toSeq: 11 }]);
    expect(store.outboxInLane(Lane.Telemetry, 0, Number.MAX_SAFE_INTEGER, 20).map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('when only undroppable messages remain it keeps them all and says it is over capacity', () => {
    const { store, gaps } = open({ maxBytes: 500 });
    for (let i = 0; i < 8; i++) store.commit({ outbox: [draft(Lane.Control, 100)] });
    expect(store.outboxDepth()).toBe(8);
    expect(gaps).toHaveLength(0);
    expect(store.overCapacity).toBe(true);
    store.acknowledge(1, 6);
    expect(store.overCapacity).toBe(false);
  });

  it('drops raw telemetry older than the age bound, and records it', () => {
    let t = 0;
    const { store, gaps } = open({ maxAgeMs: 10_000 }, () => t);
    store.commit({ outbox: [draft(Lane.Telemetry, 10, 5, 0), draft(Lane.Event, 10)] });
    t = 5_000;
    store.commit({ outbox: [draft(Lane.Telemetry, 10, 5, 5_000)] });
    t = 12_000;
    expect(store.expire()).toBe(1);
    expect(gaps[0]).toMatchObject({ reason: 'outbox_age', readings: 5, droppedSeqs: [{ fromSeq: 1, toSeq: 1 }] });
    expect(store.outboxInLane(Lane.Telemetry, 0, Number.MAX_SAFE_INTEGER, 10).map((m) => m.seq)).toEqual([3]);
  });

  it('a failed transaction leaves no trace, in the file or in the totals', () => {
    const { store } = open();
    store.commit({ outbox: [draft(Lane.Telemetry, 10)] });
    const boom = { kind: 'telemetry', lane: Lane.Telemetry, encode: () => { throw new Error('encoder failed'); } };
    expect(() => store.commit({ outbox: [draft(Lane.Telemetry, 10), boom] })).toThrow(/encoder failed/);
    expect(store.outboxDepth()).toBe(1);
    expect(store.outboxBytes()).toBe(10);
    expect(store.lastSeq()).toBe(1);
    expect(store.commit({ outbox: [draft(Lane.Telemetry, 10)] })).toEqual([2]);
    expect(store.integrityCheck()).toBe('ok');
  });
});
