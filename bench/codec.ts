/**
 * The wire codec: a 1,000-reading TelemetryBatch envelope, encoded and decoded with protobuf,
 * against the same readings as a JSON array (the naive baseline), in the same run.
 */
import { Quality, decodeEnvelope, encodeEnvelope, envelope, type Reading } from '../protocols/index.js';
import { machine, opsPerSecond } from './machine.js';

export function benchCodec() {
  const tags = Array.from({ length: 50 }, (_, i) => `feeder${(i % 8) + 1}.point_${i}_kw`);
  const t0 = Date.UTC(2026, 0, 1);
  const readings: Reading[] = Array.from({ length: 1000 }, (_, i) => ({
    tagId: tags[i % tags.length]!,
    tsMs: t0 + Math.floor(i / tags.length) * 1000,
    value: 1000 * Math.sin(i) + 0.001 * i,
    quality: Quality.Good,
  }));
  const env = envelope({ edgeId: 'edge-1', siteId: 'site-1', seq: 123_456, sentAtMs: t0, payload: { kind: 'telemetry', readings } });
  const proto = encodeEnvelope(env);
  const json = Buffer.from(JSON.stringify({ edgeId: 'edge-1', siteId: 'site-1', seq: 123_456, readings }));

  const protoRoundTrips = opsPerSecond(() => {
    const d = decodeEnvelope(encodeEnvelope(env));
    if (!d.ok) throw d.error;
  });
  const jsonRoundTrips = opsPerSecond(() => {
    JSON.parse(Buffer.from(JSON.stringify({ edgeId: 'edge-1', siteId: 'site-1', seq: 123_456, readings })).toString('utf8'));
  });
  return {
    bench: 'codec',
    machine: machine(),
    inputs: { readingsPerBatch: readings.length, distinctTags: tags.length },
    figures: {
      protobufReadingsPerSec: Math.round(protoRoundTrips * readings.length),
      jsonReadingsPerSec: Math.round(jsonRoundTrips * readings.length),
      speedVsJson: +(protoRoundTrips / jsonRoundTrips).toFixed(2),
      protobufBytesPerReading: +(proto.length / readings.length).toFixed(2),
      jsonBytesPerReading: +(json.length / readings.length).toFixed(2),
      sizeVsJson: +(proto.length / json.length).toFixed(3),
    },
  };
}
