/**
 * A test subscriber for the Sparkplug simulator: mqtt.js and the shared codec, keeping every
 * message under a group's namespace in arrival order, decoded (or the decode error).
 */
import mqtt, { type MqttClient } from 'mqtt';
import { decodePayload, parseSparkplugTopic, type Payload, type SparkplugTopic } from '../../protocols/sparkplug/index.js';

export interface Received {
  topic: string;
  parsed: SparkplugTopic;
  payload?: Payload;
  error?: string;
  bytes: number;
}

export interface SparkplugSubscriber {
  client: MqttClient;
  messages: Received[];
  of(type: SparkplugTopic['type']): Received[];
  /** Metrics in valid DDATA messages. */
  dataMetrics(): number;
  close(): Promise<void>;
}

export async function subscribeSparkplug(url: string, group: string): Promise<SparkplugSubscriber> {
  const client = mqtt.connect(url, { clientId: `test-spb-sub-${process.pid}-${Math.random().toString(16).slice(2, 8)}`, reconnectPeriod: 0 });
  const messages: Received[] = [];
  client.on('message', (topic, payload) => {
    const parsed = parseSparkplugTopic(topic);
    if (!parsed) throw new Error(`not a Sparkplug topic: ${topic}`);
    const decoded = decodePayload(payload);
    messages.push(decoded.ok ? { topic, parsed, payload: decoded.value, bytes: payload.length } : { topic, parsed, error: decoded.error.message, bytes: payload.length });
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  await client.subscribeAsync(`spBv1.0/${group}/#`, { qos: 1 });
  return {
    client,
    messages,
    of: (type) => messages.filter((m) => m.parsed.type === type),
    dataMetrics: () => messages.reduce((n, m) => n + (m.parsed.type === 'DDATA' && m.payload ? m.payload.metrics.length : 0), 0),
    close: () => client.endAsync(),
  };
}
