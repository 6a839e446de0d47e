/**
 * Topics and the certificate payloads of one edge node (births and deaths), built with the
 * shared codec. DDATA, the hot path, is written by DataWriter instead.
 */
import { BDSEQ_METRIC, DataType, REBIRTH_METRIC, encodePayload, sparkplugTopic, type Metric, type MessageType } from '../../protocols/sparkplug/index.js';
import type { MetricDef } from './metrics.js';

export interface NodeTopics {
  nbirth: string;
  ndeath: string;
  ncmd: string;
  device(type: Extract<MessageType, 'DBIRTH' | 'DDATA' | 'DDEATH'>, deviceId: string): string;
}

export function nodeTopics(group: string, node: string): NodeTopics {
  return {
    nbirth: sparkplugTopic({ group, node, type: 'NBIRTH' }),
    ndeath: sparkplugTopic({ group, node, type: 'NDEATH' }),
    ncmd: sparkplugTopic({ group, node, type: 'NCMD' }),
    device: (type, device) => sparkplugTopic({ group, node, type, device }),
  };
}

const toBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

const bdSeqMetric = (bdSeq: number): Metric => ({ name: BDSEQ_METRIC, datatype: DataType.Int64, value: bdSeq });

/** NDEATH: the bdSeq of the session it ends and no seq (Sparkplug 3.0, 6.4.2). The will has no timestamp: it is written at connect. */
export function ndeathPayload(bdSeq: number, timestampMs?: number): Buffer {
  return toBuffer(encodePayload({ ...(timestampMs !== undefined ? { timestampMs } : {}), metrics: [bdSeqMetric(bdSeq)] }));
}

export function nbirthPayload(bdSeq: number, timestampMs: number, devices: number, metrics: number): Buffer {
  return toBuffer(
    encodePayload({
      timestampMs,
      seq: 0,
      metrics: [
        bdSeqMetric(bdSeq),
        { name: REBIRTH_METRIC, datatype: DataType.Boolean, value: false, timestampMs },
        { name: 'Node Info/Devices', datatype: DataType.Int32, value: devices, timestampMs },
        { name: 'Node Info/Metrics', datatype: DataType.Int32, value: metrics, timestampMs },
      ],
    }),
  );
}

export interface BirthSample {
  def: MetricDef;
  timestampMs: number;
  value: number;
}

/** DBIRTH: every metric with its name, alias, data type and current value. */
export function dbirthPayload(seq: number, timestampMs: number, samples: readonly BirthSample[]): Buffer {
  return toBuffer(
    encodePayload({
      timestampMs,
      seq,
      metrics: samples.map(({ def, timestampMs: ts, value }) => ({
        name: def.name,
        alias: def.alias,
        timestampMs: ts,
        datatype: def.datatype,
        value: def.datatype === DataType.Boolean ? value !== 0 : value,
      })),
    }),
  );
}

export function ddeathPayload(seq: number, timestampMs: number): Buffer {
  return toBuffer(encodePayload({ timestampMs, seq, metrics: [] }));
}
