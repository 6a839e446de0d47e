/**
 * What each injected fault does to a metric's value or to a payload (pure). The node keeps one
 * MetricState per metric; a fault is a field on it, read on the hot path with no lookup.
 */
import { DataType, decodePayload } from '../../protocols/sparkplug/index.js';
import type { MetricDef } from './metrics.js';

export interface MetricState {
  readonly def: MetricDef;
  /** Timestamp of the last sample: the next is later by at least 1 ms. */
  lastTsMs: number;
  /** Samples taken so far (the noise's index). */
  samples: number;
  lastValue: number | undefined;
  /** Set while stuck: every sample repeats it. */
  stuckValue: number | undefined;
  /** Samples still to be multiplied by spikeFactor. */
  spikesLeft: number;
  spikeFactor: number;
}

export function metricState(def: MetricDef): MetricState {
  return { def, lastTsMs: 0, samples: 0, lastValue: undefined, stuckValue: undefined, spikesLeft: 0, spikeFactor: 1 };
}

/** The value published for a sample whose signal value is `v`. */
export function applyFaults(m: MetricState, v: number): number {
  if (m.stuckValue !== undefined) return m.stuckValue;
  if (m.spikesLeft > 0) {
    m.spikesLeft--;
    const spiked = v * m.spikeFactor;
    return m.def.datatype === DataType.Int32 ? Math.round(spiked) | 0 : spiked;
  }
  return v;
}

/** Why a fault cannot apply to this metric, or undefined when it can. */
export function spikeRefusal(m: MetricState, factor: number, count: number): string | undefined {
  if (m.def.datatype === DataType.Boolean) return `spike: ${m.def.deviceId}/${m.def.name} is a Boolean, it cannot spike`;
  if (!Number.isFinite(factor)) return `spike: expected a finite factor, got ${factor}`;
  if (!Number.isInteger(count) || count < 1) return `spike: expected a count >= 1, got ${count}`;
  return undefined;
}

/**
 * Bytes that are no protobuf message: a field key whose varint never ends. Checked against the
 * codec at load, so the fault cannot quietly decode.
 */
export const MALFORMED_PAYLOAD: Buffer = Buffer.from([0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x6e, 0x6f, 0x74, 0x20, 0x73, 0x70, 0x42]);
if (decodePayload(MALFORMED_PAYLOAD).ok) throw new Error('MALFORMED_PAYLOAD decodes as Sparkplug B: pick other bytes');

/** A valid payload cut at about half its length, at a point where it no longer decodes. */
export function truncate(payload: Buffer): Buffer {
  let cut = Math.floor(payload.length / 2);
  while (cut > 1 && decodePayload(payload.subarray(0, cut)).ok) cut--;
  return Buffer.from(payload.subarray(0, cut));
}
