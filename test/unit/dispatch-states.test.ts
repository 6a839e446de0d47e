import { describe, expect, it } from 'vitest';
import { DISPATCH_STATES, events, FINAL_STATES, onRestart, recoveryOf, transition, type DispatchEvent, type DispatchState } from '../../edge/dispatch/index.js';

const EVENTS: Record<string, DispatchEvent> = {
  'gated(auto)': events.gated('auto'),
  'gated(escalate)': events.gated('escalate'),
  'gated(deny)': events.gated('deny'),
  'decided(approve)': events.decided('approve'),
  'decided(reject)': events.decided('reject'),
  timedOut: events.timedOut(),
  executionStarted: events.executionStarted(),
  'executionFinished(ok)': events.executionFinished('ok'),
  'executionFinished(failed)': events.executionFinished('failed'),
  'aborted(reason)': events.aborted('INTERVAL_PASSED'),
};

/** The legal transitions, written out by hand; every other (state, event) pair is refused. */
const LEGAL: Partial<Record<DispatchState, Record<string, DispatchState>>> = {
  proposed: { 'gated(auto)': 'auto', 'gated(escalate)': 'escalated', 'gated(deny)': 'denied' },
  auto: { executionStarted: 'executing', 'aborted(reason)': 'aborted' },
  escalated: { 'decided(approve)': 'approved', 'decided(reject)': 'rejected', timedOut: 'expired' },
  approved: { executionStarted: 'executing', 'aborted(reason)': 'aborted' },
  executing: { 'executionFinished(ok)': 'executed', 'executionFinished(failed)': 'failed', 'aborted(reason)': 'aborted' },
};
const FINAL: readonly DispatchState[] = ['denied', 'rejected', 'expired', 'executed', 'failed', 'aborted'];

const table = DISPATCH_STATES.flatMap((state) =>
  Object.keys(EVENTS).map((name) => {
    const next = LEGAL[state]?.[name];
    const expected = next !== undefined ? { next } : { error: FINAL.includes(state) ? 'EDGE_DISPATCH_FINAL_STATE' : 'EDGE_DISPATCH_ILLEGAL_TRANSITION' };
    return [state, name, expected] as const;
  }),
);

describe('the transition table, all states x all events', () => {
  it('covers 11 states x 10 events', () => {
    expect(DISPATCH_STATES).toHaveLength(11);
    expect(table).toHaveLength(110);
    expect([...FINAL_STATES].sort()).toEqual([...FINAL].sort());
  });

  it.each(table)('%s + %s', (state, name, expected) => {
    expect(transition(state, EVENTS[name]!)).toEqual(expected);
  });

  it('has exactly the 13 legal transitions', () => {
    expect(table.filter(([, , e]) => 'next' in e)).toHaveLength(13);
  });
});

describe('restart', () => {
  it.each([
    ['proposed', 'gate'],
    ['auto', 'execute'],
    ['approved', 'execute'],
    ['escalated', 'escalate'],
    ['executing', 'recover'],
    ...FINAL.map((s) => [s, 'none'] as const),
  ] as const)('%s on restart: %s', (state, action) => {
    expect(onRestart(state)).toBe(action);
  });

  it('an interrupted write is executed only when the read-back saw the setpoint reached, never written again', () => {
    expect(recoveryOf('reached')).toEqual({ event: events.executionFinished('ok'), reason: 'READ_BACK' });
    expect(recoveryOf('not_reached')).toEqual({ event: events.executionFinished('failed'), reason: 'INTERRUPTED' });
    expect(recoveryOf('unknown')).toEqual({ event: events.executionFinished('failed'), reason: 'INTERRUPTED' });
    expect(transition('executing', recoveryOf('unknown').event)).toEqual({ next: 'failed' });
  });
});
