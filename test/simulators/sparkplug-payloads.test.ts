/** The Sparkplug simulator's pure parts: the DDATA writer against the shared codec, the metric table, the signal. */
import { describe, expect, it } from 'vitest';
import { DataType, decodePayload, encodePayload, numericValue, type Payload } from '../../protocols/sparkplug/index.js';
import { sparkplugMetricTable, sparkplugSignalValue } from '../../simulators/index.js';
import { DataWriter } from '../../simulators/sparkplug/data-writer.js';

describe('sparkplug simulator payloads', () => {
  it('writes DDATA byte for byte as encodePayload does', () => {
    // DATA leaves the data type out (the birth has it); encodePayload then picks the value field from the value.
    const payload: Payload = {
      timestampMs: 1_767_225_600_123,
      seq: 255,
      metrics: [
        { alias: 1, timestampMs: 1_767_225_600_123, value: 11.02 },
        { alias: 127, timestampMs: 1_767_225_600_124, value: -0.5 },
        { alias: 16_384, timestampMs: 1_767_225_600_125, value: Number.MAX_VALUE },
        { alias: 2_000_000, timestampMs: 1, value: true },
        { alias: 3, timestampMs: 0, value: false },
      ],
    };
    const writer = new DataWriter().begin(payload.timestampMs!);
    for (const m of payload.metrics) writer.metric(m.alias!, m.timestampMs!, typeof m.value === 'boolean' ? DataType.Boolean : DataType.Double, Number(m.value));
    expect(writer.finish(payload.seq!)).toEqual(Buffer.from(encodePayload(payload)));
  });

  it('writes Int32 values as their two\'s complement, as the codec reads them', () => {
    const writer = new DataWriter().begin(10);
    writer.metric(128, 11, DataType.Int32, 9);
    writer.metric(129, 12, DataType.Int32, -3);
    const decoded = decodePayload(writer.finish(0));
    expect(decoded.ok).toBe(true);
    const metrics = decoded.ok ? decoded.value.metrics : [];
    expect(metrics.map((m) => [m.alias, m.timestampMs, numericValue(m, DataType.Int32)])).toEqual([
      [128, 11, { ok: true, value: 9 }],
      [129, 12, { ok: true, value: -3 }],
    ]);
    const reference = encodePayload({ timestampMs: 10, seq: 0, metrics: [{ alias: 129, timestampMs: 12, datatype: DataType.Int32, value: -3 }] });
    const refValue = decodePayload(reference);
    expect(refValue.ok && refValue.value.metrics[0]!.value).toBe(metrics[1]!.value);
  });

  it('grows its buffer for large messages and reuses it between messages', () => {
    const w = new DataWriter();
    w.begin(5);
    for (let i = 0; i < 5000; i++) w.metric(i + 1, 1_767_225_600_000 + i, DataType.Double, i / 7);
    const big = w.finish(7);
    const decoded = decodePayload(big);
    expect(decoded.ok && decoded.value.metrics.length).toBe(5000);
    w.begin(6);
    w.metric(1, 2, DataType.Boolean, 1);
    const small = decodePayload(w.finish(8));
    expect(small.ok && small.value).toEqual({ timestampMs: 6, seq: 8, metrics: [expect.objectContaining({ alias: 1, timestampMs: 2, value: true })] });
  });

  it('has unique aliases per node and mostly Double metrics; values are reproducible from the seed', () => {
    const table = sparkplugMetricTable(5, 100, 42).flat();
    expect(table).toHaveLength(500);
    expect(new Set(table.map((m) => m.alias)).size).toBe(500);
    expect(table.filter((m) => m.datatype === DataType.Double).length).toBe(400);
    expect(new Set(table.map((m) => `${m.deviceId}/${m.name}`)).size).toBe(500);
    const again = sparkplugMetricTable(5, 100, 42).flat();
    const other = sparkplugMetricTable(5, 100, 43).flat();
    const t = 1_767_225_600_000;
    const values = table.map((m, i) => sparkplugSignalValue(m, 42, t + i, i));
    expect(again.map((m, i) => sparkplugSignalValue(m, 42, t + i, i))).toEqual(values);
    expect(other.map((m, i) => sparkplugSignalValue(m, 43, t + i, i))).not.toEqual(values);
    for (const [i, m] of table.entries()) {
      const v = values[i]!;
      if (m.datatype === DataType.Boolean) expect([0, 1]).toContain(v);
      else if (m.datatype === DataType.Int32) expect(Number.isInteger(v)).toBe(true);
      else expect(Math.abs(v - m.base)).toBeLessThanOrEqual(m.amplitude + m.noise);
    }
  });
});
