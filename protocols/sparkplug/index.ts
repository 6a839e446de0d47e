/**
 * @module protocols/sparkplug
 * Sparkplug B (Eclipse Sparkplug 3.0) topics and payloads: what substation sensors publish
 * over MQTT, read by the edge's MQTT source and written by the simulators.
 */
export {
  SPARKPLUG_NAMESPACE,
  MESSAGE_TYPES,
  DataType,
  REBIRTH_METRIC,
  BDSEQ_METRIC,
  sparkplugTopic,
  parseSparkplugTopic,
  decodePayload,
  encodePayload,
  numericValue,
} from './sparkplug.js';
export type { MessageType, SparkplugTopic, Metric, MetricValue, Payload, NumericResult } from './sparkplug.js';
