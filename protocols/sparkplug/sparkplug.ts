/**
 * Sparkplug B: topics and payloads (Eclipse Sparkplug 3.0), encoded and decoded with protobufjs
 * from sparkplug_b.proto. Decoding never throws: a payload that is not a Sparkplug B message is
 * an error value naming what was wrong, so a source can count it and carry on.
 *
 * Topic namespace: spBv1.0/<group>/<message type>/<edge node>[/<device>]
 */
import { readFileSync } from 'node:fs';
import type Long from 'long';
import protobuf from 'protobufjs';
import { ProtocolError, type DecodeResult } from '../errors.js';
import { fastDecodePayload } from './fast-decode.js';

export const SPARKPLUG_NAMESPACE = 'spBv1.0';

export const MESSAGE_TYPES = ['NBIRTH', 'NDEATH', 'DBIRTH', 'DDEATH', 'NDATA', 'DDATA', 'NCMD', 'DCMD'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** Metric data type codes, as numbered by the specification (section 6.4.16). */
export const DataType = {
  Unknown: 0,
  Int8: 1,
  Int16: 2,
  Int32: 3,
  Int64: 4,
  UInt8: 5,
  UInt16: 6,
  UInt32: 7,
  UInt64: 8,
  Float: 9,
  Double: 10,
  Boolean: 11,
  String: 12,
  DateTime: 13,
  Text: 14,
  UUID: 15,
  DataSet: 16,
  Bytes: 17,
  File: 18,
  Template: 19,
} as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

/** The metric every edge node must honour in NCMD: a request to publish its births again. */
export const REBIRTH_METRIC = 'Node Control/Rebirth';
/** The NBIRTH/NDEATH metric that pairs a death certificate with the session it ends. */
export const BDSEQ_METRIC = 'bdSeq';

export interface SparkplugTopic {
  group: string;
  type: MessageType;
  node: string;
  /** Set for DBIRTH, DDATA, DDEATH, DCMD. */
  device?: string;
}

export function sparkplugTopic(t: SparkplugTopic): string {
  return [SPARKPLUG_NAMESPACE, t.group, t.type, t.node, ...(t.device !== undefined ? [t.device] : [])].join('/');
}

/** Parses a Sparkplug B topic; undefined when it is not one (wrong namespace, type or shape). */
export function parseSparkplugTopic(topic: string): SparkplugTopic | undefined {
  const parts = topic.split('/');
  if (parts[0] !== SPARKPLUG_NAMESPACE || parts.length < 4 || parts.length > 5) return undefined;
  const [, group, type, node, device] = parts as [string, string, string, string, string | undefined];
  if (!(MESSAGE_TYPES as readonly string[]).includes(type) || group === '' || node === '') return undefined;
  const isDevice = type.startsWith('D');
  if (isDevice !== (device !== undefined) || device === '') return undefined;
  return { group, type: type as MessageType, node, ...(device !== undefined ? { device } : {}) };
}

export type MetricValue = number | bigint | boolean | string | Uint8Array;

export interface Metric {
  name?: string;
  alias?: number;
  /** ms since the Unix epoch; when absent the payload's timestamp applies. */
  timestampMs?: number;
  datatype?: DataType;
  isNull?: boolean;
  isHistorical?: boolean;
  /** Absent when isNull, or when a metric of an unsupported kind (data set, template) was sent. */
  value?: MetricValue;
}

export interface Payload {
  timestampMs?: number;
  seq?: number;
  metrics: Metric[];
}

const root = protobuf.parse(readFileSync(new URL('./sparkplug_b.proto', import.meta.url), 'utf8'), { keepCase: false }).root;
const PayloadType = root.lookupType('org.eclipse.tahu.protobuf.Payload');

type Int64 = number | Long;
const toNumber = (v: Int64): number => (typeof v === 'number' ? v : v.toNumber());
const toBigInt = (v: Int64): bigint => (typeof v === 'number' ? BigInt(v) : BigInt(v.toString()));

interface WireMetric {
  name?: string;
  alias?: Int64;
  timestamp?: Int64;
  datatype?: number;
  isHistorical?: boolean;
  isNull?: boolean;
  value?: string;
  intValue?: number;
  longValue?: Int64;
  floatValue?: number;
  doubleValue?: number;
  booleanValue?: boolean;
  stringValue?: string;
  bytesValue?: Uint8Array;
}

interface WirePayload {
  timestamp?: Int64;
  seq?: Int64;
  metrics: WireMetric[];
}

/** A uint64 for protobufjs: a plain number while it is exact, else a Long built from its halves. */
function uint64(v: bigint): Int64 {
  if (v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  return new protobuf.util.LongBits(Number(v & 0xffffffffn), Number(v >> 32n)).toLong(true) as Long;
}

const hasOwn = Object.hasOwn;

function valueOf(w: WireMetric): MetricValue | undefined {
  switch (w.value) {
    case 'doubleValue': return w.doubleValue;
    case 'floatValue': return w.floatValue;
    case 'intValue': return w.intValue;
    case 'longValue': return typeof w.longValue === 'number' ? w.longValue : toBigInt(w.longValue!);
    case 'booleanValue': return w.booleanValue;
    case 'stringValue': return w.stringValue;
    case 'bytesValue': return w.bytesValue;
  }
  return undefined;
}

/** Decodes a Sparkplug B payload. Never throws. */
export function decodePayload(bytes: Uint8Array): DecodeResult<Payload> {
  // The common payloads take the fast path; protobufjs decides everything else.
  const fast = fastDecodePayload(bytes);
  if (fast !== undefined) return { ok: true, value: fast };
  return decodePayloadWithProtobufjs(bytes);
}

/** decodePayload through protobufjs alone: the reference the fast path is held to. Never throws. */
export function decodePayloadWithProtobufjs(bytes: Uint8Array): DecodeResult<Payload> {
  let wire: WirePayload;
  try {
    wire = PayloadType.decode(bytes) as unknown as WirePayload;
  } catch (e) {
    return { ok: false, error: new ProtocolError('PROTO_MALFORMED', `not a Sparkplug B payload (${bytes.length} bytes): ${e instanceof Error ? e.message : String(e)}`) };
  }
  const metrics = new Array<Metric>(wire.metrics.length);
  for (let i = 0; i < wire.metrics.length; i++) {
    const w = wire.metrics[i]!;
    // One object shape for every metric (absent fields undefined): keeps the hot loop monomorphic.
    metrics[i] = {
      name: hasOwn(w, 'name') ? w.name : undefined,
      alias: hasOwn(w, 'alias') ? toNumber(w.alias!) : undefined,
      timestampMs: hasOwn(w, 'timestamp') ? toNumber(w.timestamp!) : undefined,
      datatype: hasOwn(w, 'datatype') ? (w.datatype as DataType) : undefined,
      isNull: w.isNull === true,
      isHistorical: w.isHistorical === true,
      value: valueOf(w),
    };
  }
  const payload: Payload = { metrics };
  if (hasOwn(wire, 'timestamp')) payload.timestampMs = toNumber(wire.timestamp!);
  if (hasOwn(wire, 'seq')) payload.seq = toNumber(wire.seq!);
  return { ok: true, value: payload };
}

/** Which oneof field carries a value of this data type on the wire. */
function valueField(datatype: DataType | undefined, value: MetricValue): keyof WireMetric {
  switch (datatype) {
    case DataType.Int8: case DataType.Int16: case DataType.Int32:
    case DataType.UInt8: case DataType.UInt16: case DataType.UInt32:
      return 'intValue';
    case DataType.Int64: case DataType.UInt64: case DataType.DateTime:
      return 'longValue';
    case DataType.Float: return 'floatValue';
    case DataType.Double: return 'doubleValue';
    case DataType.Boolean: return 'booleanValue';
    case DataType.String: case DataType.Text: case DataType.UUID: return 'stringValue';
    case DataType.Bytes: case DataType.File: return 'bytesValue';
  }
  return typeof value === 'boolean' ? 'booleanValue' : typeof value === 'string' ? 'stringValue' : value instanceof Uint8Array ? 'bytesValue' : 'doubleValue';
}

/** Encodes a payload; signed integers are written as their two's complement bit pattern, as the specification asks. */
export function encodePayload(p: Payload): Uint8Array {
  const metrics: WireMetric[] = p.metrics.map((m) => {
    const w: WireMetric = {};
    if (m.name !== undefined) w.name = m.name;
    if (m.alias !== undefined) w.alias = m.alias;
    if (m.timestampMs !== undefined) w.timestamp = m.timestampMs;
    if (m.datatype !== undefined) w.datatype = m.datatype;
    if (m.isHistorical) w.isHistorical = true;
    if (m.isNull) w.isNull = true;
    else if (m.value !== undefined) {
      const field = valueField(m.datatype, m.value);
      let v: unknown = m.value;
      if (field === 'intValue') v = Number(v) >>> 0;
      else if (field === 'longValue') v = uint64(BigInt.asUintN(64, BigInt(v as number | bigint)));
      (w as Record<string, unknown>)[field] = v;
    }
    return w;
  });
  const wire: Record<string, unknown> = { metrics };
  if (p.timestampMs !== undefined) wire.timestamp = p.timestampMs;
  if (p.seq !== undefined) wire.seq = p.seq;
  return PayloadType.encode(wire).finish();
}

export type NumericResult = { ok: true; value: number } | { ok: false; reason: 'null_value' | 'unsupported_datatype' | 'type_mismatch'; detail: string };

/**
 * A metric's value as a number, read according to its data type (from the metric, or from its
 * birth when DATA leaves it out). Booleans are 0/1; signed integers are sign-extended; strings,
 * bytes, data sets and templates are not readings.
 */
export function numericValue(m: Metric, datatype: DataType | undefined): NumericResult {
  if (m.isNull) return { ok: false, reason: 'null_value', detail: 'metric is null' };
  const v = m.value;
  if (v === undefined) return { ok: false, reason: 'unsupported_datatype', detail: `data type ${datatype ?? 'unknown'} carries no scalar value` };
  switch (datatype) {
    case DataType.Int8: return typeof v === 'number' ? { ok: true, value: (v << 24) >> 24 } : mismatch(datatype, v);
    case DataType.Int16: return typeof v === 'number' ? { ok: true, value: (v << 16) >> 16 } : mismatch(datatype, v);
    case DataType.Int32: return typeof v === 'number' ? { ok: true, value: v | 0 } : mismatch(datatype, v);
    case DataType.UInt8: case DataType.UInt16: case DataType.UInt32:
      return typeof v === 'number' ? { ok: true, value: v >>> 0 } : mismatch(datatype, v);
    case DataType.Int64:
      return typeof v === 'bigint' ? { ok: true, value: Number(BigInt.asIntN(64, v)) } : typeof v === 'number' ? { ok: true, value: v } : mismatch(datatype, v);
    case DataType.UInt64: case DataType.DateTime:
      return typeof v === 'bigint' ? { ok: true, value: Number(v) } : typeof v === 'number' ? { ok: true, value: v } : mismatch(datatype, v);
    case DataType.Float: case DataType.Double:
      return typeof v === 'number' ? { ok: true, value: v } : mismatch(datatype, v);
    case DataType.Boolean:
      return typeof v === 'boolean' ? { ok: true, value: v ? 1 : 0 } : mismatch(datatype, v);
    case undefined: case DataType.Unknown:
      if (typeof v === 'number') return { ok: true, value: v };
      if (typeof v === 'boolean') return { ok: true, value: v ? 1 : 0 };
      return { ok: false, reason: 'unsupported_datatype', detail: 'unknown data type and a non-numeric value' };
  }
  return { ok: false, reason: 'unsupported_datatype', detail: `data type ${datatype} is not a number` };
}

function mismatch(datatype: DataType, v: MetricValue): NumericResult {
  return { ok: false, reason: 'type_mismatch', detail: `data type ${datatype} but a ${typeof v} value` };
}
