/**
 * The node's devices and what they publish, without MQTT: each device walks its metrics in a
 * circle, `batchSize` per DDATA message, taking one sample per metric. A sample's timestamp is
 * the tick's wall-clock ms, or the metric's last timestamp + 1 when that ms is used already:
 * consumers deduplicate on metric and timestamp, so a timestamp must never repeat. Above 1,000
 * samples per second per metric the timestamps therefore run ahead of the clock.
 */
import { DataWriter } from './data-writer.js';
import { applyFaults, metricState, type MetricState } from './faults.js';
import { metricTable, signalValue } from './metrics.js';
import type { BirthSample } from './payloads.js';

export interface DeviceState {
  readonly id: string;
  readonly metrics: readonly MetricState[];
  /** The next metric a DDATA message starts with. */
  cursor: number;
  alive: boolean;
  /** Metrics published in DDATA. */
  published: number;
}

export class Devices {
  readonly list: DeviceState[];
  private readonly byKey: Map<string, MetricState>;
  private readonly writer = new DataWriter();
  private next = 0;

  constructor(devices: number, metricsPerDevice: number, private readonly seed: number, private readonly batchSize: number) {
    this.list = metricTable(devices, metricsPerDevice, seed).map((defs) => ({ id: defs[0]!.deviceId, metrics: defs.map(metricState), cursor: 0, alive: true, published: 0 }));
    this.byKey = new Map(this.list.flatMap((d) => d.metrics.map((m) => [`${d.id}/${m.def.name}`, m] as const)));
  }

  /** A metric by `<device>/<metric name>`. */
  metric(key: string): MetricState {
    const m = this.byKey.get(key);
    if (!m) throw new Error(`no metric '${key}' (expected <device>/<metric>, e.g. ${this.list[0]!.id}/${this.list[0]!.metrics[0]!.def.name})`);
    return m;
  }

  /** A device by id, or the first live one. */
  device(id?: string): DeviceState {
    const d = id === undefined ? this.list.find((x) => x.alive) : this.list.find((x) => x.id === id);
    if (!d) throw new Error(id === undefined ? 'no live device' : `no device '${id}' (devices: ${this.list[0]!.id}..${this.list.at(-1)!.id})`);
    return d;
  }

  /** The next live device in turn, or undefined when all are dead. */
  nextLive(): DeviceState | undefined {
    for (let k = 0; k < this.list.length; k++) {
      const d = this.list[this.next]!;
      this.next = this.next + 1 === this.list.length ? 0 : this.next + 1;
      if (d.alive) return d;
    }
    return undefined;
  }

  allMetrics(): IterableIterator<MetricState> {
    return this.byKey.values();
  }

  sample(m: MetricState, nowMs: number): number {
    const ts = m.lastTsMs < nowMs ? nowMs : m.lastTsMs + 1;
    m.lastTsMs = ts;
    const v = applyFaults(m, signalValue(m.def, this.seed, ts, m.samples++));
    m.lastValue = v;
    return v;
  }

  /** The next DDATA payload of `d`: the next `batchSize` metrics, by alias, each with its timestamp. */
  dataPayload(d: DeviceState, nowMs: number, seq: number): Buffer {
    const w = this.writer.begin(nowMs);
    const ms = d.metrics;
    let i = d.cursor;
    for (let k = 0; k < this.batchSize; k++) {
      const m = ms[i]!;
      const v = this.sample(m, nowMs);
      w.metric(m.def.alias, m.lastTsMs, m.def.datatype, v);
      i = i + 1 === ms.length ? 0 : i + 1;
    }
    d.cursor = i;
    return w.finish(seq);
  }

  /** A sample of every metric of `d`, for its DBIRTH. */
  birthSamples(d: DeviceState, nowMs: number): BirthSample[] {
    return d.metrics.map((m) => ({ def: m.def, value: this.sample(m, nowMs), timestampMs: m.lastTsMs }));
  }

  /** The value a metric would show now without taking a sample (for freezing one that has none yet). */
  currentValue(m: MetricState, nowMs: number): number {
    return m.lastValue ?? signalValue(m.def, this.seed, nowMs, m.samples);
  }
}
