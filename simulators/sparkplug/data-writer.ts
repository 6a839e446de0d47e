/**
 * Writes DDATA payloads (alias, timestamp and value per metric, the payload's timestamp and seq)
 * straight into one reused buffer: the bytes encodePayload would produce for the same payload
 * (a test holds it to that), without an object per metric or protobufjs's writer. At 6,000
 * messages a second the generic encoder's ~30 us each would be a fifth of a core.
 *
 * Field numbers: Sparkplug 3.0 chapter 6, as in protocols/sparkplug/sparkplug_b.proto.
 */
import { DataType } from '../../protocols/sparkplug/index.js';

const PAYLOAD_TIMESTAMP = (1 << 3) | 0;
const PAYLOAD_METRIC = (2 << 3) | 2;
const PAYLOAD_SEQ = (3 << 3) | 0;
const METRIC_ALIAS = (2 << 3) | 0;
const METRIC_TIMESTAMP = (3 << 3) | 0;
const METRIC_INT = (10 << 3) | 0;
const METRIC_DOUBLE = (13 << 3) | 1;
const METRIC_BOOLEAN = (14 << 3) | 0;

/** Bytes of a varint for a whole number 0 .. 2^53 (bit operations below 2^31, where they are exact). */
function varintSize(v: number): number {
  let n = 1;
  for (; v > 0x7fffffff; n++) v = Math.floor(v / 128);
  for (; v > 127; n++) v >>>= 7;
  return n;
}

export class DataWriter {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private pos = 0;

  begin(timestampMs: number): this {
    this.pos = 0;
    this.byte(PAYLOAD_TIMESTAMP);
    this.varint(timestampMs);
    return this;
  }

  /** One metric; `value` is a number for Double and Int32, 0/1 for Boolean. */
  metric(alias: number, timestampMs: number, datatype: DataType, value: number): void {
    const valueSize = datatype === DataType.Double ? 9 : datatype === DataType.Int32 ? 1 + varintSize(value >>> 0) : 2;
    const size = 1 + varintSize(alias) + 1 + varintSize(timestampMs) + valueSize;
    this.reserve(size + 6);
    this.byte(PAYLOAD_METRIC);
    this.varint(size);
    this.byte(METRIC_ALIAS);
    this.varint(alias);
    this.byte(METRIC_TIMESTAMP);
    this.varint(timestampMs);
    if (datatype === DataType.Double) {
      this.byte(METRIC_DOUBLE);
      this.pos = this.buf.writeDoubleLE(value, this.pos);
    } else if (datatype === DataType.Int32) {
      this.byte(METRIC_INT);
      this.varint(value >>> 0);
    } else {
      this.byte(METRIC_BOOLEAN);
      this.byte(value ? 1 : 0);
    }
  }

  /** The payload so far with its seq, in a Buffer of its own (mqtt.js keeps it until PUBACK). */
  finish(seq: number): Buffer {
    this.byte(PAYLOAD_SEQ);
    this.varint(seq);
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }

  private byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  private varint(v: number): void {
    for (; v > 0x7fffffff; v = Math.floor(v / 128)) this.buf[this.pos++] = (v % 128) | 128;
    for (; v > 127; v >>>= 7) this.buf[this.pos++] = (v & 127) | 128;
    this.buf[this.pos++] = v;
  }

  private reserve(bytes: number): void {
    if (this.pos + bytes + 16 <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(this.buf.length * 2);
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }
}
