/**
 * Loads the .proto schemas once, at import, with protobufjs. The schemas ship as files next
 * to this module (the build copies them to dist/), so there is no generated code to drift.
 */
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';

function load(file: string): protobuf.Root {
  const text = readFileSync(new URL(file, import.meta.url), 'utf8');
  return protobuf.parse(text, { keepCase: false }).root;
}

const gridos = load('./gridos.proto');

export const EnvelopeType = gridos.lookupType('gridos.v1.Envelope');
export const TelemetryBatchType = gridos.lookupType('gridos.v1.TelemetryBatch');
