/**
 * Loads gridos's subset of the ONNX schema (onnx.proto, next to this module) once, at import,
 * with protobufjs. The file ships as is (the build copies it to dist/): no generated code,
 * and no ONNX package needed at run time.
 */
import { readFileSync } from 'node:fs';
import type Long from 'long';
import protobuf from 'protobufjs';

const root = protobuf.parse(readFileSync(new URL('./onnx.proto', import.meta.url), 'utf8'), { keepCase: false }).root;

export const ModelProtoType = root.lookupType('onnx.ModelProto');

/** TensorProto.DataType values of the ONNX specification that gridos uses. */
export const DataType = { FLOAT: 1 } as const;

/** The IR version gridos writes (ONNX 1.10): old enough for any edge runtime of the last years. */
export const IR_VERSION = 8;

// The shapes protobufjs builds and reads (camelCase names, keepCase: false). Decoded int64
// fields arrive as Long objects when the `long` package is present, hence Int64.
export type Int64 = number | Long;

export interface WireStringEntry {
  key?: string;
  value?: string;
}

export interface WireDimension {
  dimValue?: Int64 | null;
  dimParam?: string | null;
}

export interface WireTypeProto {
  tensorType?: { elemType?: number; shape?: { dim?: WireDimension[] } | null } | null;
}

export interface WireValueInfo {
  name?: string;
  type?: WireTypeProto | null;
}

export interface WireTensor {
  name?: string;
  dims?: Int64[];
  dataType?: number;
  rawData?: Uint8Array;
}

export interface WireNode {
  name?: string;
  opType?: string;
  domain?: string;
  input?: string[];
  output?: string[];
}

export interface WireGraph {
  name?: string;
  docString?: string;
  node?: WireNode[];
  initializer?: WireTensor[];
  input?: WireValueInfo[];
  output?: WireValueInfo[];
}

export interface WireModel {
  irVersion?: Int64;
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: Int64;
  docString?: string;
  graph?: WireGraph | null;
  opsetImport?: { domain?: string; version?: Int64 }[];
  metadataProps?: WireStringEntry[];
}

export const toNumber = (v: Int64 | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());
