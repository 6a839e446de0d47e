/**
 * Plain MQTT messages to readings (pure): which configured topic filter a topic matches, and
 * where in its JSON each tag's value and the timestamp are.
 *
 * A message that is not JSON, or lacks a configured field, produces no reading for it and a
 * reason; a field that is there but not a number becomes a NaN reading, which the pipeline
 * stores flagged NOT_FINITE (a sensor sending "ERR" is worth keeping a record of).
 */
import { Quality, type Reading } from '../../../protocols/index.js';

export interface JsonTagRule {
  id: string;
  path?: string;
  scale: number;
  offset: number;
}

export interface JsonTopicRule {
  filter: string;
  timestampPath?: string;
  tags: JsonTagRule[];
}

export type JsonReject = 'unmatched_topic' | 'malformed_json' | 'missing_field' | 'bad_timestamp';

export interface JsonOutcome {
  readings: Reading[];
  rejected: { reason: JsonReject; detail: string }[];
}

/** MQTT topic filter matching: `+` is one level, `#` (last) any number of levels, including none. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

function at(doc: unknown, path: string | undefined): unknown {
  if (path === undefined) return doc;
  let v: unknown = doc;
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

export function readJsonMessage(rules: readonly JsonTopicRule[], topic: string, payload: Uint8Array, arrivalMs: number): JsonOutcome {
  const out: JsonOutcome = { readings: [], rejected: [] };
  const rule = rules.find((r) => topicMatches(r.filter, topic));
  if (!rule) {
    out.rejected.push({ reason: 'unmatched_topic', detail: `${topic}: no configured topic filter matches` });
    return out;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  } catch (e) {
    out.rejected.push({ reason: 'malformed_json', detail: `${topic}: ${e instanceof Error ? e.message : String(e)}` });
    return out;
  }
  let tsMs = arrivalMs;
  if (rule.timestampPath !== undefined) {
    const ts = at(doc, rule.timestampPath);
    const parsed = typeof ts === 'number' ? ts : typeof ts === 'string' ? Date.parse(ts) : Number.NaN;
    if (!Number.isFinite(parsed)) {
      out.rejected.push({ reason: 'bad_timestamp', detail: `${topic}: ${rule.timestampPath} is ${JSON.stringify(ts) ?? 'missing'}, expected ms since the epoch or an ISO 8601 time` });
      return out;
    }
    tsMs = parsed;
  }
  for (const tag of rule.tags) {
    const raw = at(doc, tag.path);
    if (raw === undefined) {
      out.rejected.push({ reason: 'missing_field', detail: `${topic}: no ${tag.path ?? 'value'} for tag ${tag.id}` });
      continue;
    }
    const n = typeof raw === 'number' ? raw : typeof raw === 'boolean' ? Number(raw) : Number.NaN;
    out.readings.push({ tagId: tag.id, tsMs, value: n * tag.scale + tag.offset, quality: Quality.Good });
  }
  return out;
}
