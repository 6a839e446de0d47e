/**
 * The dispatch state machine of one proposal, as pure data and one pure function: no I/O, no
 * clock. The journal (journal.ts) persists what `transition` allows; the dispatcher
 * (dispatcher.ts) decides which event to apply.
 *
 *   proposed --gated(auto)--> auto --executionStarted--> executing
 *   proposed --gated(escalate)--> escalated --decided(approve)--> approved --executionStarted--> executing
 *                                 escalated --decided(reject)--> rejected
 *                                 escalated --timedOut--> expired
 *   proposed --gated(deny)--> denied
 *   executing --executionFinished(ok)--> executed | --executionFinished(failed)--> failed
 *   auto | approved | executing --aborted(reason)--> aborted
 *
 * `aborted` before `executing` means the dispatcher gave up without writing (the proposal's
 * interval ended while it waited, say); from `executing` it means the write passed its deadline.
 *
 * Restart (what a state means after a crash, `onRestart`):
 *  - proposed: gate again with the verdict stored with it (the gate is deterministic);
 *  - auto, approved: execute. `beginExecution` (the move to `executing`) is committed BEFORE any
 *    write, so a proposal still in auto/approved was never written;
 *  - escalated: send the escalation again (idempotent by proposal id at the outbox and the hub)
 *    and keep its timeout running from when it was escalated, not from the restart;
 *  - executing: NEVER write again (at most once). A write may or may not have happened. The
 *    caller's read-back decides: the device reached the setpoint -> `executed` (reason
 *    READ_BACK); anything else, or no read-back -> `failed` (reason INTERRUPTED);
 *  - the six final states: nothing.
 */
import type { Outcome } from '../policy/index.js';

export const DISPATCH_STATES = ['proposed', 'auto', 'escalated', 'denied', 'approved', 'rejected', 'expired', 'executing', 'executed', 'failed', 'aborted'] as const;
export type DispatchState = (typeof DISPATCH_STATES)[number];

export const FINAL_STATES: readonly DispatchState[] = ['denied', 'rejected', 'expired', 'executed', 'failed', 'aborted'];
export const isFinal = (s: DispatchState): boolean => FINAL_STATES.includes(s);

export type Decision = 'approve' | 'reject';

export type DispatchEvent =
  | { type: 'gated'; outcome: Outcome }
  | { type: 'decided'; decision: Decision }
  | { type: 'timedOut' }
  | { type: 'executionStarted' }
  | { type: 'executionFinished'; result: 'ok' | 'failed' }
  | { type: 'aborted'; reason: string };

/** Event constructors, so call sites read like the state diagram. */
export const events = {
  gated: (outcome: Outcome): DispatchEvent => ({ type: 'gated', outcome }),
  decided: (decision: Decision): DispatchEvent => ({ type: 'decided', decision }),
  timedOut: (): DispatchEvent => ({ type: 'timedOut' }),
  executionStarted: (): DispatchEvent => ({ type: 'executionStarted' }),
  executionFinished: (result: 'ok' | 'failed'): DispatchEvent => ({ type: 'executionFinished', result }),
  aborted: (reason: string): DispatchEvent => ({ type: 'aborted', reason }),
};

/** Why a transition was refused. Stable codes, never reused. */
export type TransitionErrorCode =
  /** The state is final: nothing moves a proposal out of it. */
  | 'EDGE_DISPATCH_FINAL_STATE'
  /** The event has no meaning in this (non-final) state. */
  | 'EDGE_DISPATCH_ILLEGAL_TRANSITION';

export type TransitionResult = { next: DispatchState } | { error: TransitionErrorCode };

const GATED: Record<Outcome, DispatchState> = { auto: 'auto', escalate: 'escalated', deny: 'denied' };

export function transition(state: DispatchState, event: DispatchEvent): TransitionResult {
  if (isFinal(state)) return { error: 'EDGE_DISPATCH_FINAL_STATE' };
  const next = nextOf(state, event);
  return next === undefined ? { error: 'EDGE_DISPATCH_ILLEGAL_TRANSITION' } : { next };
}

function nextOf(state: DispatchState, e: DispatchEvent): DispatchState | undefined {
  switch (state) {
    case 'proposed':
      return e.type === 'gated' ? GATED[e.outcome] : undefined;
    case 'escalated':
      if (e.type === 'decided') return e.decision === 'approve' ? 'approved' : 'rejected';
      return e.type === 'timedOut' ? 'expired' : undefined;
    case 'auto':
    case 'approved':
      if (e.type === 'executionStarted') return 'executing';
      return e.type === 'aborted' ? 'aborted' : undefined;
    case 'executing':
      if (e.type === 'executionFinished') return e.result === 'ok' ? 'executed' : 'failed';
      return e.type === 'aborted' ? 'aborted' : undefined;
    default:
      return undefined;
  }
}

/** What the dispatcher does with a proposal found in `state` after a restart. */
export type RestartAction = 'gate' | 'execute' | 'escalate' | 'recover' | 'none';

export function onRestart(state: DispatchState): RestartAction {
  switch (state) {
    case 'proposed':
      return 'gate';
    case 'auto':
    case 'approved':
      return 'execute';
    case 'escalated':
      return 'escalate';
    case 'executing':
      return 'recover';
    default:
      return 'none';
  }
}

/** What a device read-back says about an interrupted write. */
export type ReadBack = 'reached' | 'not_reached' | 'unknown';

/**
 * The event that closes a proposal interrupted in `executing`: never a second write. Only a
 * read-back showing the setpoint reached counts as executed; `unknown` is a failure.
 */
export function recoveryOf(readBack: ReadBack): { event: DispatchEvent; reason: 'READ_BACK' | 'INTERRUPTED' } {
  return readBack === 'reached' ? { event: events.executionFinished('ok'), reason: 'READ_BACK' } : { event: events.executionFinished('failed'), reason: 'INTERRUPTED' };
}
