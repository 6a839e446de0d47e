/**
 * Encode and decode edge-hub envelopes. Decoding never throws: it returns a typed error that
 * names what was wrong, so a receiver can count and log it and carry on.
 */
import type Long from 'long';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { ProtocolError, type DecodeResult } from './errors.js';
import { EnvelopeType, TelemetryBatchType } from './schema.js';
import { MAX_DECISION_BYTES, sha256Hex, type SignedDecisionWire } from './decision.js';
import { auditHeadOf, auditSyncOf, auditSyncToWire, type WireAuditHead, type WireAuditSync } from './audit-sync.js';
import { writeTelemetryBatch } from './telemetry-writer.js';
import { isValidId } from './topics.js';
import { SCHEMA_VERSION, VOLTAGE_LIMIT_KEYS, type ActiveModelInfo, type EdgeRuntime, type Envelope, type Escalation, type VerdictSummary, type ForecastMessage, type ModelRef, type ModelScore, type Payload, type Quality, type Reading, type SeqRange, type TagInfo, type VoltageLimits } from './types.js';

/** Inflated telemetry larger than this is refused: a small message must not become a memory bomb. */
export const MAX_INFLATED_BYTES = 64 * 1024 * 1024;
/** A forecast covers at most a week of hours. */
export const MAX_FORECAST_HOURS = 168;
const CODEC_DEFLATE_RAW = 1;

export interface EncodeOptions {
  /** Compress a telemetry payload (raw DEFLATE); other payloads are sent as they are. */
  compress?: boolean;
}

type Int64 = number | Long;
const toNumber = (v: Int64 | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

interface WireBatch {
  tags: string[];
  tagIndex: number[];
  baseTsMs: number;
  tsDeltaMs: number[];
  values: number[];
  quality: number[];
  sourceStatus: number[];
  flags: number[];
}

/** Column-packs readings: each tag name once, timestamps as deltas from the first reading. */
export function packReadings(readings: readonly Reading[]): WireBatch {
  const tagIds = new Map<string, number>();
  const n = readings.length;
  const batch: WireBatch = {
    tags: [],
    tagIndex: new Array<number>(n),
    baseTsMs: n > 0 ? readings[0]!.tsMs : 0,
    tsDeltaMs: new Array<number>(n),
    values: new Array<number>(n),
    quality: [],
    sourceStatus: [],
    flags: [],
  };
  let allGood = true;
  let unflagged = true;
  for (let i = 0; i < n; i++) {
    const r = readings[i]!;
    let idx = tagIds.get(r.tagId);
    if (idx === undefined) {
      idx = batch.tags.length;
      tagIds.set(r.tagId, idx);
      batch.tags.push(r.tagId);
    }
    batch.tagIndex[i] = idx;
    batch.tsDeltaMs[i] = r.tsMs - batch.baseTsMs;
    batch.values[i] = r.value;
    if (r.quality !== 0 || (r.sourceStatus ?? 0) !== 0) allGood = false;
    if (r.flags) unflagged = false;
  }
  if (!unflagged) batch.flags = readings.map((r) => r.flags ?? 0);
  if (!allGood) {
    batch.quality = readings.map((r) => r.quality);
    batch.sourceStatus = readings.map((r) => r.sourceStatus ?? 0);
  }
  return batch;
}

function unpackReadings(b: {
  tags?: string[];
  tagIndex?: number[];
  baseTsMs?: Int64;
  tsDeltaMs?: Int64[];
  values?: number[];
  quality?: number[];
  sourceStatus?: number[];
  flags?: number[];
}): Reading[] {
  const tags = b.tags ?? [];
  const tagIndex = b.tagIndex ?? [];
  const deltas = b.tsDeltaMs ?? [];
  const values = b.values ?? [];
  const quality = b.quality ?? [];
  const status = b.sourceStatus ?? [];
  const flags = b.flags ?? [];
  const n = values.length;
  if (tagIndex.length !== n || deltas.length !== n) {
    throw new ProtocolError('PROTO_INVALID_FIELD', `telemetry: column lengths differ (tag_index ${tagIndex.length}, ts_delta_ms ${deltas.length}, values ${n})`);
  }
  if ((quality.length !== 0 && quality.length !== n) || (status.length !== 0 && status.length !== n) || (flags.length !== 0 && flags.length !== n)) {
    throw new ProtocolError('PROTO_INVALID_FIELD', `telemetry: quality/source_status/flags must be empty or have ${n} entries`);
  }
  const base = toNumber(b.baseTsMs);
  const out = new Array<Reading>(n);
  for (let i = 0; i < n; i++) {
    const tagId = tags[tagIndex[i]!];
    if (tagId === undefined) {
      throw new ProtocolError('PROTO_INVALID_FIELD', `telemetry: reading ${i} refers to tag ${tagIndex[i]} of ${tags.length}`);
    }
    const q = (quality[i] ?? 0) as Quality;
    if (q > 3) throw new ProtocolError('PROTO_INVALID_FIELD', `telemetry: reading ${i} has unknown quality ${q}`);
    const reading: Reading = { tagId, tsMs: base + toNumber(deltas[i]), value: values[i]!, quality: q };
    const s = status[i];
    if (s) reading.sourceStatus = s;
    const f = flags[i];
    if (f) reading.flags = f;
    out[i] = reading;
  }
  return out;
}

function payloadToWire(p: Payload, options: EncodeOptions): Record<string, unknown> {
  switch (p.kind) {
    case 'telemetry': {
      if (!options.compress) return { telemetry: packReadings(p.readings) };
      const raw = writeTelemetryBatch(p.readings) ?? TelemetryBatchType.encode(TelemetryBatchType.fromObject(packReadings(p.readings))).finish();
      // Level 1: most of the gain for a fraction of the CPU on a small gateway.
      return { compressedTelemetry: { codec: CODEC_DEFLATE_RAW, data: deflateRawSync(raw, { level: 1 }) } };
    }
    case 'birth': {
      const { voltageLimits, ...rest } = p.birth;
      return { birth: { ...rest, voltageLimits: voltageLimits.map(({ tagId, ...limits }) => ({ tag: tagId, ...limits })) } };
    }
    case 'ack':
      return { ack: p.ack };
    case 'gap':
      return { gap: p.gap };
    case 'state': {
      const { runtime, ...rest } = p.state;
      if (runtime === undefined) return { state: rest };
      const policy = runtime.policy === null ? undefined : { ...runtime.policy, expiresMs: runtime.policy.expiresMs ?? 0 };
      return { state: { ...rest, runtime: { ...(policy ? { policy } : {}), models: runtime.models } } };
    }
    case 'aggregates':
      return { aggregates: { aggregates: p.aggregates.map(({ tagId, ...rest }) => ({ tag: tagId, ...rest })) } };
    case 'forecast':
      return { forecast: p.forecast };
    case 'scores':
      return { modelScores: { atMs: p.atMs, scores: p.scores } };
    case 'escalation':
      return { escalation: p.escalation };
    case 'decision':
      return { decision: p.decision };
    case 'audit':
      return { audit: auditSyncToWire(p.audit) };
    case 'auditHead':
      return { auditHead: p.auditHead };
  }
}

/** Encodes an envelope. Throws a ProtocolError if our own code built an invalid one. */
export function encodeEnvelope(env: Envelope, options: EncodeOptions = {}): Uint8Array {
  if (!isValidId(env.edgeId) || !isValidId(env.siteId)) {
    throw new ProtocolError('PROTO_INVALID_FIELD', `envelope: invalid edge '${env.edgeId}' or site '${env.siteId}' id`);
  }
  const msg = {
    schemaVersion: env.schemaVersion,
    edgeId: env.edgeId,
    siteId: env.siteId,
    seq: env.seq,
    sentAtMs: env.sentAtMs,
    ...payloadToWire(env.payload, options),
  };
  return EnvelopeType.encode(EnvelopeType.fromObject(msg)).finish();
}

/** Builds an envelope of the current schema version. */
export function envelope(fields: Omit<Envelope, 'schemaVersion'>): Envelope {
  return { schemaVersion: SCHEMA_VERSION, ...fields };
}

interface WireEnvelope {
  schemaVersion?: number;
  edgeId?: string;
  siteId?: string;
  seq?: Int64;
  sentAtMs?: Int64;
  payload?: string;
  telemetry?: Parameters<typeof unpackReadings>[0];
  birth?: { agentVersion?: string; tags?: Partial<TagInfo>[]; configHash?: string; startedAtMs?: Int64; streamId?: string; voltageLimits?: WireVoltageLimits[] };
  ack?: { fromSeq?: Int64; toSeq?: Int64 };
  gap?: { reason?: string; droppedSeqs?: { fromSeq?: Int64; toSeq?: Int64 }[]; readings?: Int64; fromTsMs?: Int64; toTsMs?: Int64 };
  state?: {
    online?: boolean;
    reason?: string;
    outbox?: { messages?: Int64; bytes?: Int64; readings?: Int64; oldestMs?: Int64 };
    runtime?: { policy?: { id?: string; version?: number; sha256?: string; expiresMs?: Int64; expired?: boolean } | null; models?: Partial<ActiveModelInfo>[] } | null;
  };
  aggregates?: { aggregates?: { tag?: string; windowStartMs?: Int64; windowMs?: number; mean?: number; min?: number; max?: number; last?: number; count?: number }[] };
  compressedTelemetry?: { codec?: number; data?: Uint8Array };
  forecast?: Partial<Omit<ForecastMessage, 'issuedAtMs' | 'firstHourMs' | 'model'>> & { issuedAtMs?: Int64; firstHourMs?: Int64; model?: Partial<ModelRef> };
  modelScores?: { atMs?: Int64; scores?: (Partial<Omit<ModelScore, 'model'>> & { model?: Partial<ModelRef> })[] };
  escalation?: { proposalJson?: Uint8Array; proposalHash?: string; proposalId?: string; verdict?: Partial<VerdictSummary>; escalatedAtMs?: Int64; deadlineMs?: Int64 };
  decision?: { decisionJson?: Uint8Array; signature?: Uint8Array; keyId?: string };
  audit?: WireAuditSync;
  auditHead?: WireAuditHead;
}

/** Unset optional fields decode as null (protobufjs tracks their presence). */
type WireVoltageLimits = { tag?: string } & { [K in (typeof VOLTAGE_LIMIT_KEYS)[number]]?: number | null };

function voltageLimitsOf(entries: WireVoltageLimits[]): VoltageLimits[] {
  return entries.map((e, i) => {
    const bad = (why: string): never => {
      throw new ProtocolError('PROTO_INVALID_FIELD', `birth: voltage_limits[${i}]${e.tag ? ` ('${e.tag}')` : ''}: ${why}`);
    };
    if (!e.tag) bad('expected the voltage tag it applies to');
    const out: VoltageLimits = { tagId: e.tag ?? '' };
    for (const key of VOLTAGE_LIMIT_KEYS) {
      const v = e[key];
      if (v === null || v === undefined) continue;
      if (!(Number.isFinite(v) && v > 0)) bad(`${key} is ${v}, expected a per-unit value above 0`);
      out[key] = v;
    }
    const { interlockLowPu: lo, interlockHighPu: hi, curtailAbovePu: curtail, releaseBelowPu: release } = out;
    if (lo !== undefined && hi !== undefined && !(lo < hi)) bad(`interlock low ${lo} pu is not below its high ${hi} pu`);
    if (release !== undefined && curtail !== undefined && !(release < curtail)) bad(`release below ${release} pu is not below curtail above ${curtail} pu`);
    return out;
  });
}

function runtimeOf(r: NonNullable<NonNullable<WireEnvelope['state']>['runtime']>): EdgeRuntime {
  const p = r.policy;
  const expiresMs = p ? toNumber(p.expiresMs) : 0;
  return {
    policy: p ? { id: p.id ?? '', version: p.version ?? 0, sha256: p.sha256 ?? '', expiresMs: expiresMs > 0 ? expiresMs : null, expired: p.expired ?? false } : null,
    models: (r.models ?? []).map((m) => ({ target: m.target ?? '', role: m.role === 'shadow' ? 'shadow' : 'active', id: m.id ?? '', version: m.version ?? '', sha256: m.sha256 ?? '' })),
  };
}

function escalationOf(e: NonNullable<WireEnvelope['escalation']>): Escalation {
  const proposalJson = e.proposalJson ?? new Uint8Array();
  const proposalHash = e.proposalHash ?? '';
  if (proposalJson.length === 0) throw new ProtocolError('PROTO_INVALID_FIELD', 'escalation: proposal_json is empty');
  if (sha256Hex(proposalJson) !== proposalHash) {
    throw new ProtocolError('PROTO_INVALID_FIELD', `escalation: proposal_hash '${proposalHash.slice(0, 16)}' is not the sha256 of proposal_json`);
  }
  const v = e.verdict ?? {};
  return {
    proposalJson,
    proposalHash,
    proposalId: e.proposalId ?? '',
    verdict: {
      outcome: v.outcome ?? '', ruleId: v.ruleId ?? '', reasons: v.reasons ?? [], policyId: v.policyId ?? '', policyVersion: v.policyVersion ?? 0, flags: v.flags ?? [],
      ...(v.approvalRoles && v.approvalRoles.length > 0 ? { approvalRoles: v.approvalRoles } : {}),
      ...(v.approversRequired ? { approversRequired: v.approversRequired } : {}),
      ...(v.ruleChangedBy ? { ruleChangedBy: v.ruleChangedBy } : {}),
    },
    escalatedAtMs: toNumber(e.escalatedAtMs),
    deadlineMs: toNumber(e.deadlineMs),
  };
}

function decisionOf(d: NonNullable<WireEnvelope['decision']>): SignedDecisionWire {
  const decisionJson = d.decisionJson ?? new Uint8Array();
  const signature = d.signature ?? new Uint8Array();
  const keyId = d.keyId ?? '';
  if (decisionJson.length === 0 || decisionJson.length > MAX_DECISION_BYTES) {
    throw new ProtocolError('PROTO_INVALID_FIELD', `decision: decision_json must be 1-${MAX_DECISION_BYTES} bytes, got ${decisionJson.length}`);
  }
  if (signature.length !== 64) throw new ProtocolError('PROTO_INVALID_FIELD', `decision: signature must be 64 bytes (ed25519), got ${signature.length}`);
  if (!/^[0-9a-f]{64}$/.test(keyId)) throw new ProtocolError('PROTO_INVALID_FIELD', 'decision: key_id must be a sha256 of 64 lowercase hex characters');
  return { decisionJson, signature, keyId };
}

function modelRef(m: Partial<ModelRef> | undefined): ModelRef | undefined {
  if (!m) return undefined;
  return { id: m.id ?? '', version: m.version ?? '', sha256: m.sha256 ?? '', featureBuilderVersion: m.featureBuilderVersion ?? '' };
}

function forecastOf(f: NonNullable<WireEnvelope['forecast']>): ForecastMessage {
  const load = f.load ?? [];
  const p10 = f.p10 ?? [];
  const p90 = f.p90 ?? [];
  if (p10.length !== load.length || p90.length !== load.length) {
    throw new ProtocolError('PROTO_INVALID_FIELD', `forecast: ${load.length} load values but ${p10.length} p10 and ${p90.length} p90`);
  }
  const bad = (why: string): never => {
    throw new ProtocolError('PROTO_INVALID_FIELD', `forecast${f.target ? ` '${f.target}'` : ''}: ${why}`);
  };
  if (!f.target || !f.tag) bad('expected a target and a tag');
  if (f.horizon !== 'day-ahead' && f.horizon !== 'hour-ahead') bad(`expected horizon day-ahead or hour-ahead, got '${f.horizon ?? ''}'`);
  if (f.role !== 'active' && f.role !== 'shadow') bad(`expected role active or shadow, got '${f.role ?? ''}'`);
  if (load.length < 1 || load.length > MAX_FORECAST_HOURS) bad(`expected 1 to ${MAX_FORECAST_HOURS} hourly values, got ${load.length}`);
  if (!((f.hourMs ?? 0) > 0)) bad('expected the length of an hour (hour_ms) > 0');
  for (const [name, values] of [['load', load], ['p10', p10], ['p90', p90]] as const) {
    const i = values.findIndex((v) => !Number.isFinite(v));
    if (i >= 0) bad(`${name}[${i}] is ${values[i]}, not a finite number`);
  }
  const model = modelRef(f.model);
  return {
    target: f.target ?? '',
    tag: f.tag ?? '',
    horizon: f.horizon ?? '',
    role: f.role ?? '',
    issuedAtMs: toNumber(f.issuedAtMs),
    firstHourMs: toNumber(f.firstHourMs),
    hourMs: f.hourMs ?? 0,
    load,
    p10,
    p90,
    ...(model ? { model } : {}),
    fallbackCode: f.fallbackCode ?? '',
    fallbackReason: f.fallbackReason ?? '',
    latencyUs: f.latencyUs ?? 0,
  };
}

function seqRange(r: { fromSeq?: Int64; toSeq?: Int64 }, what: string): SeqRange {
  const range = { fromSeq: toNumber(r.fromSeq), toSeq: toNumber(r.toSeq) };
  if (range.fromSeq > range.toSeq) {
    throw new ProtocolError('PROTO_INVALID_FIELD', `${what}: from_seq ${range.fromSeq} is after to_seq ${range.toSeq}`);
  }
  return range;
}

function inflateTelemetry(c: NonNullable<WireEnvelope['compressedTelemetry']>): Parameters<typeof unpackReadings>[0] {
  if (c.codec !== CODEC_DEFLATE_RAW) throw new ProtocolError('PROTO_INVALID_FIELD', `compressed telemetry: unknown codec ${c.codec ?? 0}`);
  let raw: Buffer;
  try {
    raw = inflateRawSync(c.data ?? new Uint8Array(), { maxOutputLength: MAX_INFLATED_BYTES });
  } catch (e) {
    throw new ProtocolError('PROTO_MALFORMED', `compressed telemetry does not inflate: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    return TelemetryBatchType.decode(raw) as unknown as Parameters<typeof unpackReadings>[0];
  } catch (e) {
    throw new ProtocolError('PROTO_MALFORMED', `compressed telemetry is not a TelemetryBatch: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function wireToPayload(w: WireEnvelope): Payload {
  switch (w.payload) {
    case 'telemetry':
      return { kind: 'telemetry', readings: unpackReadings(w.telemetry ?? {}) };
    case 'compressedTelemetry':
      return { kind: 'telemetry', readings: unpackReadings(inflateTelemetry(w.compressedTelemetry ?? {})) };
    case 'gap': {
      const g = w.gap ?? {};
      return {
        kind: 'gap',
        gap: { reason: g.reason ?? '', droppedSeqs: (g.droppedSeqs ?? []).map((r) => seqRange(r, 'gap')), readings: toNumber(g.readings), fromTsMs: toNumber(g.fromTsMs), toTsMs: toNumber(g.toTsMs) },
      };
    }
    case 'state': {
      const st = w.state ?? {};
      const o = st.outbox ?? {};
      return {
        kind: 'state',
        state: {
          online: st.online ?? false,
          reason: st.reason ?? '',
          outbox: { messages: toNumber(o.messages), bytes: toNumber(o.bytes), readings: toNumber(o.readings), oldestMs: toNumber(o.oldestMs) },
          ...(st.runtime ? { runtime: runtimeOf(st.runtime) } : {}),
        },
      };
    }
    case 'aggregates':
      return {
        kind: 'aggregates',
        aggregates: (w.aggregates?.aggregates ?? []).map((a) => ({
          tagId: a.tag ?? '',
          windowStartMs: toNumber(a.windowStartMs),
          windowMs: a.windowMs ?? 0,
          mean: a.mean ?? 0,
          min: a.min ?? 0,
          max: a.max ?? 0,
          last: a.last ?? 0,
          count: a.count ?? 0,
        })),
      };
    case 'birth': {
      const b = w.birth ?? {};
      return {
        kind: 'birth',
        birth: {
          agentVersion: b.agentVersion ?? '',
          configHash: b.configHash ?? '',
          startedAtMs: toNumber(b.startedAtMs),
          streamId: b.streamId ?? '',
          voltageLimits: voltageLimitsOf(b.voltageLimits ?? []),
          tags: (b.tags ?? []).map((t) => ({
            id: t.id ?? '',
            unit: t.unit ?? '',
            description: t.description ?? '',
            source: t.source ?? '',
            minValue: t.minValue ?? 0,
            maxValue: t.maxValue ?? 0,
          })),
        },
      };
    }
    case 'ack':
      return { kind: 'ack', ack: seqRange(w.ack ?? {}, 'ack') };
    case 'forecast':
      return { kind: 'forecast', forecast: forecastOf(w.forecast ?? {}) };
    case 'modelScores': {
      const ms = w.modelScores ?? {};
      return {
        kind: 'scores',
        atMs: toNumber(ms.atMs),
        scores: (ms.scores ?? []).map((sc) => {
          const model = modelRef(sc.model);
          return { target: sc.target ?? '', role: sc.role ?? '', ...(model ? { model } : {}), horizon: sc.horizon ?? '', n: sc.n ?? 0, windowHours: sc.windowHours ?? 0, mape: sc.mape ?? 0, mae: sc.mae ?? 0, bias: sc.bias ?? 0 };
        }),
      };
    }
    case 'escalation':
      return { kind: 'escalation', escalation: escalationOf(w.escalation ?? {}) };
    case 'decision':
      return { kind: 'decision', decision: decisionOf(w.decision ?? {}) };
    case 'audit':
      return { kind: 'audit', audit: auditSyncOf(w.audit ?? {}, w.edgeId ?? '') };
    case 'auditHead':
      return { kind: 'auditHead', auditHead: auditHeadOf(w.auditHead ?? {}, w.edgeId ?? '') };
    default:
      throw new ProtocolError('PROTO_NO_PAYLOAD', 'envelope carries no payload this build knows (telemetry, birth, ack, gap, state, aggregates, forecast, scores, escalation, decision, audit, auditHead)');
  }
}

/** Decodes and checks an envelope. Never throws. */
export function decodeEnvelope(bytes: Uint8Array): DecodeResult<Envelope> {
  let w: WireEnvelope;
  try {
    w = EnvelopeType.decode(bytes) as unknown as WireEnvelope;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return { ok: false, error: new ProtocolError('PROTO_MALFORMED', `not a gridos envelope (${bytes.length} bytes): ${why}`) };
  }
  try {
    const version = w.schemaVersion ?? 0;
    if (version === 0) {
      throw new ProtocolError('PROTO_MALFORMED', `not a gridos envelope (${bytes.length} bytes): no schema_version`);
    }
    if (version !== SCHEMA_VERSION) {
      throw new ProtocolError('PROTO_SCHEMA_VERSION', `envelope schema version ${version} is not supported (this build speaks ${SCHEMA_VERSION})`);
    }
    const edgeId = w.edgeId ?? '';
    const siteId = w.siteId ?? '';
    if (!isValidId(edgeId)) throw new ProtocolError('PROTO_INVALID_FIELD', `envelope: edge_id '${edgeId}' is not a valid id`);
    if (!isValidId(siteId)) throw new ProtocolError('PROTO_INVALID_FIELD', `envelope: site_id '${siteId}' is not a valid id`);
    const value: Envelope = {
      schemaVersion: version,
      edgeId,
      siteId,
      seq: toNumber(w.seq),
      sentAtMs: toNumber(w.sentAtMs),
      payload: wireToPayload(w),
    };
    return { ok: true, value };
  } catch (e) {
    if (e instanceof ProtocolError) return { ok: false, error: e };
    return { ok: false, error: new ProtocolError('PROTO_MALFORMED', `not a gridos envelope: ${String(e)}`) };
  }
}
