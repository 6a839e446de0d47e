/**
 * The AuditSync payload on the wire: a run of audit rows and a signed checkpoint survive encode and
 * decode exactly (the checkpoint still verifies), and malformed ones are refused with a code that
 * names the field.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EMPTY_HEAD, sealAuditRecord, signCheckpoint, verifyCheckpoint, type AuditRow } from '../../protocols/audit/index.js';
import { checkpointFromWire, checkpointToWire, commandTopic, decodeEnvelope, encodeEnvelope, envelope, parseTopic, uplinkTopic, type AuditSync, type Envelope } from '../../protocols/index.js';
import { EnvelopeType } from '../../protocols/schema.js';
import { tufPublicKey } from '../../protocols/tuf/index.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const keyId = tufPublicKey(publicKey).keyId;
const base = { edgeId: 'edge-1', siteId: 'north', seq: 7, sentAtMs: 1_780_000_000_000 };

function chain(n: number): AuditRow[] {
  const rows: AuditRow[] = [];
  let head = EMPTY_HEAD;
  for (let i = 0; i < n; i++) {
    const { row } = sealAuditRecord(head, { atMs: 1_780_000_000_000 + i, kind: 'proposal', subject: { proposalId: `p${i}` }, body: { kw: 250.5 * i, note: 'ünïcode ok' } });
    rows.push(row);
    head = row;
  }
  return rows;
}

function sync(records: AuditRow[]): AuditSync {
  const last = records[records.length - 1] ?? EMPTY_HEAD;
  const cp = signCheckpoint({ chainId: 'edge-1', seq: last.seq, hash: last.hash, atMs: 1_780_000_000_500 }, privateKey);
  return { edgeId: 'edge-1', records, checkpoint: checkpointToWire(cp, keyId) };
}

/** Encodes a wire object as protobufjs would, bypassing our encoder's own checks. */
function rawEnvelope(audit: Record<string, unknown>, edgeId = 'edge-1'): Uint8Array {
  return EnvelopeType.encode(EnvelopeType.fromObject({ schemaVersion: 1, edgeId, siteId: 'north', seq: 7, sentAtMs: 1, audit })).finish();
}

describe('AuditSync on the wire', () => {
  it('round trip: the rows exactly as stored, and a checkpoint that still verifies', () => {
    const env: Envelope = envelope({ ...base, payload: { kind: 'audit', audit: sync(chain(5)) } });
    const decoded = decodeEnvelope(encodeEnvelope(env));
    if (!decoded.ok) throw decoded.error;
    const p = decoded.value.payload;
    if (p.kind !== 'audit') throw new Error(`decoded a ${p.kind}`);
    expect(p.audit.records).toEqual(chain(5));
    expect({ ...p.audit.checkpoint, signature: Buffer.from(p.audit.checkpoint.signature) }).toEqual({ ...sync(chain(5)).checkpoint, signature: Buffer.from(sync(chain(5)).checkpoint.signature) });
    expect(verifyCheckpoint(checkpointFromWire(p.audit.checkpoint), publicKey)).toEqual({ ok: true });
  });

  it('a checkpoint alone (the head reported, no records) round-trips', () => {
    const env: Envelope = envelope({ ...base, payload: { kind: 'audit', audit: sync([]) } });
    const decoded = decodeEnvelope(encodeEnvelope(env));
    expect(decoded.ok && decoded.value.payload.kind === 'audit' && decoded.value.payload.audit.records).toEqual([]);
  });

  it('travels on the edge\'s .../audit topic', () => {
    expect(parseTopic(uplinkTopic('north', 'edge-1', 'audit'))).toEqual({ direction: 'uplink', siteId: 'north', edgeId: 'edge-1', kind: 'audit' });
  });

  const good = (): Record<string, unknown> => {
    const s = sync(chain(2));
    return { edgeId: 'edge-1', records: s.records.map((r) => ({ ...r })), checkpoint: { ...s.checkpoint } };
  };
  const withRecord = (patch: Record<string, unknown>) => {
    const g = good();
    (g.records as Record<string, unknown>[])[1] = { ...(g.records as Record<string, unknown>[])[1], ...patch };
    return g;
  };
  const withCheckpoint = (patch: Record<string, unknown>) => {
    const g = good();
    g.checkpoint = { ...(g.checkpoint as object), ...patch };
    return g;
  };

  it.each([
    ['another edge id than the envelope', { ...good(), edgeId: 'edge-2' }, /edge_id 'edge-2' is not the envelope's edge 'edge-1'/],
    ['no checkpoint', { ...good(), checkpoint: null }, /no checkpoint/],
    ['a short signature', withCheckpoint({ signature: Buffer.alloc(10) }), /checkpoint.signature must be 64 bytes/],
    ['a key id that is not a sha256', withCheckpoint({ keyId: 'k1' }), /checkpoint.key_id/],
    ['a bad chain id', withCheckpoint({ chainId: 'a/b' }), /checkpoint.chain_id/],
    ['a checkpoint hash that is not hex', withCheckpoint({ hash: 'zz' }), /checkpoint.hash/],
    ['a record at seq 0', withRecord({ seq: 0 }), /records\[1\].seq must be an integer >= 1/],
    ['a record hash of more than 256 characters', withRecord({ hash: 'a'.repeat(257) }), /records\[1\].hash must be 1-256 characters/],
    ['a record without prev_hash', withRecord({ prevHash: '' }), /records\[1\].prev_hash/],
    ['a record with an empty body', withRecord({ bodyJson: '' }), /records\[1\].body_json/],
    ['a record without a kind', withRecord({ kind: '' }), /records\[1\].kind/],
  ])('refuses %s: PROTO_INVALID_FIELD naming it', (_name, audit, message) => {
    const r = decodeEnvelope(rawEnvelope(audit));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('PROTO_INVALID_FIELD');
    expect(r.error.message).toMatch(message);
  });

  it('carries a record hash or prev_hash that is not hex as sent: the hub judges it (an alarm), a refusal here would be resent forever', () => {
    for (const patch of [{ hash: 'A'.repeat(64) }, { hash: 'xyz' }, { prevHash: 'not a hash' }]) {
      const r = decodeEnvelope(rawEnvelope(withRecord(patch)));
      expect(r.ok && r.value.payload.kind === 'audit' && r.value.payload.audit.records[1]).toMatchObject(patch);
    }
  });

  it('refuses bytes that are not an envelope at all: PROTO_MALFORMED', () => {
    const bytes = rawEnvelope(good());
    const r = decodeEnvelope(bytes.subarray(0, bytes.length - 3));
    expect(r.ok ? 'ok' : r.error.code).toBe('PROTO_MALFORMED');
  });
});

describe('AuditHead on the wire (hub -> edge)', () => {
  const notice = { edgeId: 'edge-1', seq: 10, hash: 'ab'.repeat(32), answersAtMs: 1_780_000_000_500, refused: false, invalidSeq: 0 };

  it('round trips, and travels on the edge\'s .../cmd/audit-head', () => {
    const decoded = decodeEnvelope(encodeEnvelope(envelope({ ...base, seq: 0, payload: { kind: 'auditHead', auditHead: notice } })));
    expect(decoded.ok && decoded.value.payload).toEqual({ kind: 'auditHead', auditHead: notice });
    const refused = decodeEnvelope(encodeEnvelope(envelope({ ...base, seq: 0, payload: { kind: 'auditHead', auditHead: { ...notice, seq: 0, hash: '0'.repeat(64), refused: true } } })));
    expect(refused.ok && refused.value.payload).toMatchObject({ auditHead: { seq: 0, refused: true } });
    const invalid = decodeEnvelope(encodeEnvelope(envelope({ ...base, seq: 0, payload: { kind: 'auditHead', auditHead: { ...notice, refused: true, invalidSeq: 11 } } })));
    expect(invalid.ok && invalid.value.payload).toMatchObject({ auditHead: { seq: 10, refused: true, invalidSeq: 11 } });
    expect(parseTopic(commandTopic('north', 'edge-1', 'audit-head'))).toEqual({ direction: 'command', siteId: 'north', edgeId: 'edge-1', kind: 'audit-head' });
  });

  it.each([
    ['another edge id than the envelope', { ...notice, edgeId: 'edge-2' }, /audit head: edge_id 'edge-2'/],
    ['a hash that is not hex', { ...notice, hash: 'zz' }, /audit head: hash/],
  ])('refuses %s: PROTO_INVALID_FIELD naming it', (_name, auditHead, message) => {
    const r = decodeEnvelope(EnvelopeType.encode(EnvelopeType.fromObject({ schemaVersion: 1, edgeId: 'edge-1', siteId: 'north', seq: 0, sentAtMs: 1, auditHead })).finish());
    expect(r.ok ? 'ok' : r.error.code).toBe('PROTO_INVALID_FIELD');
    if (!r.ok) expect(r.error.message).toMatch(message);
  });
});
