/**
 * What a caller chooses about a simulated Sparkplug B edge node, its defaults, and the check that
 * refuses a choice the node cannot run (rather than quietly repairing it).
 */
import type { Logger } from 'pino';

export interface SparkplugNodeOptions {
  /** Broker URL, `mqtt://host:port`. */
  url: string;
  /** MQTT client id; default `gridos-spb-<group>-<node>`. */
  clientId?: string;
  /** Sparkplug group id and edge node id (topic segments: no `/`, `+` or `#`). */
  group: string;
  node: string;
  devices: number;
  metricsPerDevice: number;
  /** Metrics per second over all devices; 0 publishes births only. */
  ratePerSec: number;
  /** Metrics per DDATA message; each message carries one device's metrics. */
  batchSize: number;
  /** QoS of births and data (Sparkplug 3.0 asks 0; 1 by default so a subscriber can count exactly). NDEATH is always 1. */
  qos: 0 | 1;
  /** Real ms between bursts of messages. */
  tickMs: number;
  /** Values are a pure function of the seed, the metric, its timestamp and its sample number. */
  seed: number;
  /** QoS 1 messages awaiting PUBACK beyond which a tick sends nothing (keeps memory bounded when the broker is slower than the rate). */
  maxInflight: number;
  /** Wait before a new session after the connection was lost; 0 stays disconnected until restart(). */
  reconnectMs: number;
  /** Bound on a clean stop's wait for PUBACKs before the socket is closed anyway. */
  stopTimeoutMs: number;
  logger: Logger;
}

export const sparkplugNodeDefaults: Readonly<Omit<SparkplugNodeOptions, 'logger'>> = Object.freeze({
  url: 'mqtt://127.0.0.1:1883',
  group: 'gridos',
  node: 'substation1',
  devices: 5,
  metricsPerDevice: 100,
  ratePerSec: 1000,
  batchSize: 100,
  qos: 1,
  tickMs: 10,
  seed: 1,
  maxInflight: 5000,
  reconnectMs: 1000,
  stopTimeoutMs: 5000,
});

/** Devices beyond this are a different benchmark; aliases stay small and names stay short. */
export const MAX_DEVICES = 1000;
export const MAX_METRICS_PER_DEVICE = 10_000;
/** mqtt.js numbers QoS 1 packets 1..65535 and does not check for reuse: stay well below. */
export const MAX_INFLIGHT = 60_000;

export class SparkplugOptionsError extends Error {
  override readonly name = 'SparkplugOptionsError';
  /** The substation simulator's code: the same meaning, one code. */
  readonly code = 'SIM_OPTIONS_INVALID';
  constructor(readonly problems: string[]) {
    super(`invalid sparkplug simulator options:\n  ${problems.join('\n  ')}`);
  }
}

const whole = (v: number, min: number, max: number): boolean => Number.isInteger(v) && v >= min && v <= max;
const topicSegment = (s: string): boolean => typeof s === 'string' && s.length > 0 && !/[/+#]/.test(s);

/** Problems with the options; empty when the node can run. */
export function optionProblems(o: Omit<SparkplugNodeOptions, 'logger'>): string[] {
  const p: string[] = [];
  if (!/^mqtts?:\/\/./.test(o.url)) p.push(`url: expected mqtt://host:port, got '${o.url}'`);
  if (!topicSegment(o.group)) p.push(`group: expected a non-empty id without '/', '+' or '#', got '${o.group}'`);
  if (!topicSegment(o.node)) p.push(`node: expected a non-empty id without '/', '+' or '#', got '${o.node}'`);
  if (o.clientId !== undefined && o.clientId.length === 0) p.push('clientId: expected a non-empty id, or leave it out');
  if (!whole(o.devices, 1, MAX_DEVICES)) p.push(`devices: expected a whole number from 1 to ${MAX_DEVICES}, got ${o.devices}`);
  if (!whole(o.metricsPerDevice, 1, MAX_METRICS_PER_DEVICE)) p.push(`metricsPerDevice: expected a whole number from 1 to ${MAX_METRICS_PER_DEVICE}, got ${o.metricsPerDevice}`);
  else if (!whole(o.batchSize, 1, o.metricsPerDevice)) p.push(`batchSize: expected a whole number from 1 to metricsPerDevice (${o.metricsPerDevice}): a DDATA message carries one device's metrics, each once, got ${o.batchSize}`);
  if (!(Number.isFinite(o.ratePerSec) && o.ratePerSec >= 0)) p.push(`ratePerSec: expected metrics per second >= 0, got ${o.ratePerSec}`);
  if (o.qos !== 0 && o.qos !== 1) p.push(`qos: expected 0 or 1, got ${String(o.qos)}`);
  if (!whole(o.tickMs, 1, 1000)) p.push(`tickMs: expected a whole number of ms from 1 to 1000, got ${o.tickMs}`);
  if (!whole(o.seed, 0, 0xffffffff)) p.push(`seed: expected a whole number from 0 to 2^32 - 1, got ${o.seed}`);
  if (!whole(o.maxInflight, 1, MAX_INFLIGHT)) p.push(`maxInflight: expected a whole number from 1 to ${MAX_INFLIGHT}, got ${o.maxInflight}`);
  if (!whole(o.reconnectMs, 0, 3_600_000)) p.push(`reconnectMs: expected a whole number of ms from 0 to 3600000, got ${o.reconnectMs}`);
  if (!whole(o.stopTimeoutMs, 0, 600_000)) p.push(`stopTimeoutMs: expected a whole number of ms from 0 to 600000, got ${o.stopTimeoutMs}`);
  return p;
}
