/**
 * The fast path of decodePayload: reads a Sparkplug B payload's wire format (Sparkplug 3.0,
 * chapter 6; field numbers as in sparkplug_b.proto) straight into our Payload and Metric
 * objects. protobufjs builds a message object per metric first, with a Long per uint64 field
 * (alias, timestamps) and a oneof setter that deletes properties (which turns each metric
 * object into a slow dictionary): at 500,000 metrics a second that was the largest cost of the
 * edge agent, before the pipeline and the store together.
 *
 * It decodes only what it can decode exactly as protobufjs does, and returns undefined for
 * anything else, so decodePayload falls back to protobufjs, which decides (and names the
 * error): truncated or malformed input, a wire type other than the field's, a uint64 of more
 * than 49 bits (a bigint's worth), a varint longer than protobufjs reads as 32 bits, groups,
 * field number 0. test/unit/sparkplug-fast-decode.test.ts holds it to protobufjs on random
 * and mutated payloads.
 */
import type { DataType, Metric, MetricValue, Payload } from './sparkplug.js';

const FAIL = -1;

/** Where the reader is in the buffer; `pos` is FAIL once something could not be read exactly. */
class Cursor {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly view: DataView,
  ) {}

  /** A varint as protobufjs's uint32() reads it: the fifth byte's low 4 bits; a longer one fails. */
  uint32(end: number): number {
    const buf = this.buf;
    let value = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (this.pos >= end) return this.fail();
      const b = buf[this.pos++]!;
      value = (value | ((b & 127) << shift)) >>> 0;
      if (b < 128) return value;
    }
    if (this.pos >= end) return this.fail();
    const b = buf[this.pos++]!;
    if (b >= 128) return this.fail();
    return (value | ((b & 15) << 28)) >>> 0;
  }

  /** A field tag of at most 4 bytes (field numbers below 2^25); a longer one fails. */
  tag(end: number): number {
    const buf = this.buf;
    let value = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (this.pos >= end) return this.fail();
      const b = buf[this.pos++]!;
      value |= (b & 127) << shift;
      if (b < 128) return value;
    }
    return this.fail();
  }

  /** A bool as protobufjs reads it: true when any of up to 10 varint bytes has a bit set. */
  bool(end: number): boolean {
    let value = false;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) {
        this.fail();
        return false;
      }
      const b = this.buf[this.pos++]!;
      if (b & 127) value = true;
      if (b < 128) return value;
    }
    this.fail();
    return false;
  }

  /** A uint64 varint of at most 7 bytes (below 2^49: exact as a number). */
  uint64(end: number): number {
    const buf = this.buf;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= end) return this.fail();
      const b = buf[this.pos++]!;
      value += (b & 127) * scale;
      if (b < 128) return value;
      scale *= 128;
    }
    return this.fail();
  }

  /** Skips an unknown field of this wire type. */
  skip(wireType: number, end: number): void {
    if (wireType === 0) {
      for (let i = 0; i < 10; i++) {
        if (this.pos >= end) return void this.fail();
        if (this.buf[this.pos++]! < 128) return;
      }
      this.fail();
    } else if (wireType === 1) this.advance(8, end);
    else if (wireType === 5) this.advance(4, end);
    else if (wireType === 2) {
      const len = this.uint32(end);
      if (this.pos !== FAIL) this.advance(len, end);
    } else this.fail();
  }

  /** Moves past `n` bytes; returns where they start. */
  advance(n: number, end: number): number {
    const at = this.pos;
    if (n > end - at) return this.fail();
    this.pos = at + n;
    return at;
  }

  fail(): number {
    this.pos = FAIL;
    return FAIL;
  }
}

/** A length-delimited field: its start and end, or FAIL. */
function delimited(c: Cursor, end: number): number {
  const len = c.uint32(end);
  if (c.pos === FAIL) return FAIL;
  return c.advance(len, end);
}

function readString(c: Cursor, end: number): string | undefined {
  const at = delimited(c, end);
  if (at === FAIL) return undefined;
  // protobufjs decodes a Buffer's strings with Node's UTF-8 decoder (utf8Slice), as this does
  return (c.buf as Buffer).toString('utf8', at, c.pos);
}

/**
 * The wire type of each Metric field this reads (sparkplug_b.proto): 0 varint, 1 64-bit,
 * 2 length-delimited, 5 32-bit.
 */
const METRIC_WIRE_TYPES: readonly (number | undefined)[] = [
  undefined, // 0: not a field
  2, // 1 name
  0, // 2 alias
  0, // 3 timestamp
  0, // 4 datatype
  0, // 5 is_historical
  0, // 6 is_transient
  0, // 7 is_null
  undefined, // 8 metadata: skipped
  undefined, // 9 properties: skipped
  0, // 10 int_value
  0, // 11 long_value
  5, // 12 float_value
  1, // 13 double_value
  0, // 14 boolean_value
  2, // 15 string_value
  2, // 16 bytes_value
];

function readMetric(c: Cursor, end: number): Metric | undefined {
  let name: string | undefined;
  let alias: number | undefined;
  let timestampMs: number | undefined;
  let datatype: number | undefined;
  let isNull = false;
  let isHistorical = false;
  let value: MetricValue | undefined;
  while (c.pos < end) {
    const tag = c.tag(end);
    if (c.pos === FAIL) return undefined;
    const wireType = tag & 7;
    const field = tag >>> 3;
    if (field === 0) return undefined;
    // a known field on another wire type than sparkplug_b.proto gives it: protobufjs decides
    const expected = METRIC_WIRE_TYPES[field];
    if (expected !== undefined && wireType !== expected) return undefined;
    switch (field) {
      case 1:
        name = readString(c, end);
        break;
      case 2:
        alias = c.uint64(end);
        break;
      case 3:
        timestampMs = c.uint64(end);
        break;
      case 4:
        datatype = c.uint32(end);
        break;
      case 5:
        isHistorical = c.bool(end);
        break;
      case 6:
        c.bool(end); // is_transient: not read
        break;
      case 7:
        isNull = c.bool(end);
        break;
      // The value oneof: the last one on the wire wins, as protobufjs's oneof setter has it.
      case 10:
        value = c.uint32(end);
        break;
      case 11:
        // protobufjs (with long installed) hands over a Long, which decodePayload makes a bigint
        value = BigInt(c.uint64(end));
        break;
      case 12: {
        const at = c.advance(4, end);
        if (at !== FAIL) value = c.view.getFloat32(at, true);
        break;
      }
      case 13: {
        const at = c.advance(8, end);
        if (at !== FAIL) value = c.view.getFloat64(at, true);
        break;
      }
      case 14:
        value = c.bool(end);
        break;
      case 15:
        value = readString(c, end);
        break;
      case 16: {
        const at = delimited(c, end);
        if (at !== FAIL) value = c.buf.subarray(at, c.pos);
        break;
      }
      default:
        c.skip(wireType, end);
    }
    if (c.pos === FAIL) return undefined;
  }
  // One object shape for every metric (absent fields undefined): keeps the hot loops monomorphic.
  return { name, alias, timestampMs, datatype: datatype as DataType | undefined, isNull, isHistorical, value };
}

/** The payload, or undefined when protobufjs must decide. Never throws. */
export function fastDecodePayload(bytes: Uint8Array): Payload | undefined {
  // protobufjs reads a Buffer (strings, bytes) unlike other Uint8Arrays; only Buffers come from MQTT
  if (!Buffer.isBuffer(bytes)) return undefined;
  const c = new Cursor(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const end = bytes.length;
  const metrics: Metric[] = [];
  let timestampMs: number | undefined;
  let seq: number | undefined;
  while (c.pos < end) {
    const tag = c.tag(end);
    if (c.pos === FAIL) return undefined;
    const wireType = tag & 7;
    const field = tag >>> 3;
    if (field === 0) return undefined;
    if (field === 2) {
      if (wireType !== 2) return undefined;
      const len = c.uint32(end);
      if (c.pos === FAIL || len > end - c.pos) return undefined;
      const m = readMetric(c, c.pos + len);
      if (m === undefined) return undefined;
      metrics.push(m);
      continue;
    }
    if (field === 1) {
      if (wireType !== 0) return undefined;
      timestampMs = c.uint64(end);
    } else if (field === 3) {
      if (wireType !== 0) return undefined;
      seq = c.uint64(end);
    } else if (field === 4 || field === 5) {
      // uuid (a string) and body (bytes): not read, but a string must be one
      if (wireType !== 2) return undefined;
      if (field === 4) readString(c, end);
      else delimited(c, end);
    } else c.skip(wireType, end);
    if (c.pos === FAIL) return undefined;
  }
  const payload: Payload = { metrics };
  if (timestampMs !== undefined) payload.timestampMs = timestampMs;
  if (seq !== undefined) payload.seq = seq;
  return payload;
}
