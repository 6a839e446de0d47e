/**
 * The one interface every source kind implements (OPC UA, MQTT with plain JSON or Sparkplug B,
 * replay). Lifecycle: construct (validate only, no I/O) -> start (connect, subscribe) -> stop.
 * A source emits readings in batches, never one reading per emission.
 *
 * Flow control: when the store or the uplink falls behind, the agent calls pause(); the source
 * then stops taking data in (holds broker acknowledgements, disables its subscription's
 * publishing, stops polling) until resume(). Nothing it has already emitted is dropped.
 */
import type { Observable } from 'rxjs';
import type { Reading } from '../../protocols/index.js';

export type SourceState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'stopped';

/** Counters a source keeps about itself; the agent exposes them as Prometheus metrics. */
export interface SourceStats {
  /** Times the link to the device or broker came back after being lost. */
  reconnects: number;
  /** Messages or values the source could not turn into readings, by reason (e.g. `malformed_payload`). */
  rejected: Record<string, number>;
  /** Messages received (sources that receive messages: MQTT). */
  messages?: number;
  /** Of those, messages that gave no reading at all (each counted under at least one reason in `rejected`). */
  messagesRefused?: number;
}

export interface Source {
  readonly kind: string;
  readonly name: string;
  /** Batches of readings, in the order the source received them. Completes on stop(). */
  readonly readings$: Observable<Reading[]>;
  readonly state: SourceState;
  /** Connects and subscribes. Resolves once the first subscription is in place. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stop taking data in until resume() (backpressure). Idempotent. */
  pause(): void;
  resume(): void;
  stats(): SourceStats;
  /**
   * Told after each commit whether everything the source emitted so far is durably stored.
   * Sources that can have their data sent again (MQTT QoS 1) acknowledge only then.
   */
  stored?(ok: boolean): void;
}
