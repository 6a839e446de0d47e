/**
 * The one interface every source kind implements (OPC UA today; MQTT, Sparkplug B, replay
 * next). Lifecycle: construct (validate only, no I/O) -> start (connect, subscribe) -> stop.
 * A source emits readings in batches, never one reading per emission.
 */
import type { Observable } from 'rxjs';
import type { Reading } from '../../protocols/index.js';

export type SourceState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'stopped';

export interface Source {
  readonly kind: string;
  readonly name: string;
  /** Batches of readings, in the order the source received them. Completes on stop(). */
  readonly readings$: Observable<Reading[]>;
  readonly state: SourceState;
  /** Connects and subscribes. Resolves once the first subscription is in place. */
  start(): Promise<void>;
  stop(): Promise<void>;
}
