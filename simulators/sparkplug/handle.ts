/** What a running Sparkplug edge node simulator offers: its metrics, counters, rate, faults, lifecycle. */
import type { DataType } from '../../protocols/sparkplug/index.js';

export interface SparkplugCounters {
  /** Every PUBLISH handed to mqtt.js: births, data, deaths, faulty payloads. */
  messages: number;
  dataMessages: number;
  /** Metrics in DDATA messages (not in births, not in faulty payloads). */
  metrics: number;
  metricsByDevice: Record<string, number>;
  /** NBIRTH and DBIRTH messages. */
  births: number;
  /** DDEATH and explicit NDEATH messages (not wills). */
  deaths: number;
  /** Malformed and truncated payloads. */
  faultyPayloads: number;
  /** The seq of the last message that carried one. */
  lastSeq: number | undefined;
  /** The current (or last) session's bdSeq. */
  bdSeq: number;
  sessions: number;
  /** QoS 1 messages acknowledged, and awaiting acknowledgement in this session. */
  acked: number;
  inflight: number;
  /** Ticks that stopped sending because maxInflight messages awaited PUBACK. */
  windowFullTicks: number;
}

export interface SparkplugMetricInfo {
  /** `<device>/<metric name>`, the key the fault methods take. */
  key: string;
  device: string;
  name: string;
  alias: number;
  datatype: DataType;
}

export interface SparkplugNode {
  readonly clientId: string;
  readonly metrics: readonly SparkplugMetricInfo[];
  readonly connected: boolean;
  counters(): SparkplugCounters;
  setRate(ratePerSec: number): void;
  /** Freezes a metric at its last published value (timestamps go on). */
  stuck(metric: string): void;
  /** Multiplies the next `count` values of a metric by `factor`. */
  spike(metric: string, factor: number, count?: number): void;
  /** Leaves out the next `n` seq numbers. */
  skipSeq(n?: number): void;
  /** Publishes bytes that are not protobuf on a device's DDATA topic; takes no seq. */
  malformed(device?: string): void;
  /** Publishes a DDATA payload cut short; takes no seq. */
  truncated(device?: string): void;
  clearFaults(): void;
  /** DDEATH; the device publishes nothing until reviveDevice (or a rebirth does not bring it back). */
  killDevice(device: string): void;
  /** DBIRTH, then the device's data again. */
  reviveDevice(device: string): void;
  /** NBIRTH and every DBIRTH again, seq from 0: what an NCMD Node Control/Rebirth asks. */
  rebirth(): void;
  /** Destroys the socket without DISCONNECT, so the broker publishes the will. */
  dropConnection(): void;
  /** Clean stop of the session (NDEATH, DISCONNECT), then a new one (bdSeq + 1, births). */
  restart(): Promise<void>;
  /** Clean stop; calling it again waits for the same stop. */
  stop(): Promise<void>;
}
