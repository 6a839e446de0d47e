/**
 * The audit chain (protocols/audit) through the edge's and the hub's SQLite logs, tampered with
 * directly in the file: every flipped byte, a deleted record and two reordered records are named
 * by seq; signed checkpoints reveal truncation and forks.
 */
import Database from 'better-sqlite3';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EdgeAuditLog } from '../../edge/audit/index.js';
import { HubAuditLog } from '../../hub/audit/index.js';
import {
  AUDIT_KINDS,
  AuditCanonicalError,
  AuditEntryError,
  auditCanonicalJson,
  compareCheckpoints,
  EMPTY_HEAD,
  GENESIS_HASH,
  recordOfRow,
  sealAuditRecord,
  signCheckpoint,
  verifyChain,
  verifyCheckpoint,
  type AuditEntry,
} from '../../protocols/audit/index.js';

const dir = mkdtempSync(join(tmpdir(), 'gridos-audit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const N = 50;
let files = 0;

/** Record i of a decision trail: the kinds in flow order, linked by ids. */
function entry(i: number, variant = ''): AuditEntry {
  const kind = AUDIT_KINDS[i % AUDIT_KINDS.length]!;
  const flow = Math.floor(i / AUDIT_KINDS.length);
  return { atMs: 1_767_225_600_000 + i * 1000, kind, subject: { proposalId: `p-${flow}`, decisionId: `d-${flow}` }, body: { i, kw: 250.5 + i, note: `record ${i}${variant}`, limits: [1, 2.5, null] } };
}

type Log = EdgeAuditLog | HubAuditLog;
const sides = [
  ['edge', (db: Database.Database) => new EdgeAuditLog(db, { chainId: 'edge-1' })],
  ['hub', (db: Database.Database) => new HubAuditLog(db, { chainId: 'hub' })],
] as const;

/** A fresh file with N records; its triggers dropped so that the test can tamper like a person with the file. */
function filled(make: (db: Database.Database) => Log, n = N, variant = (_i: number): string => ''): { db: Database.Database; log: Log; file: string } {
  const file = join(dir, `audit-${files++}.sqlite`);
  const db = new Database(file);
  db.pragma('journal_mode = WAL'); // as the edge's and hub's stores open their files (they use synchronous=FULL; NORMAL keeps this fast)
  db.pragma('synchronous = NORMAL');
  const log = make(db);
  for (let i = 0; i < n; i++) log.append(entry(i, variant(i)));
  return { db, log, file };
}
const unlock = (db: Database.Database): void => void db.exec('DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;');

describe.each(sides)('%s audit log', (_side, make) => {
  it('appends a linked chain that verifies, and reads back what was written', () => {
    const { db, log } = filled(make);
    const rows = log.rows();
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(rows[0]!.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < N; i++) expect(rows[i]!.prevHash).toBe(rows[i - 1]!.hash);
    expect(recordOfRow(rows[3]!)).toMatchObject({ seq: 4, kind: entry(3).kind, subject: entry(3).subject, body: entry(3).body });
    expect(log.verify()).toEqual({ ok: true, head: { seq: N, hash: rows[N - 1]!.hash }, records: N });
    expect(log.head()).toEqual({ seq: N, hash: rows[N - 1]!.hash });
    expect(log.rows(10, 12).map((r) => r.seq)).toEqual([10, 11, 12]);
    db.close();
  });

  it('refuses UPDATE and DELETE, and bad entries, leaving the chain as it was', () => {
    const { db, log } = filled(make, 3);
    expect(() => db.prepare('UPDATE audit SET body = ? WHERE seq = 2').run('{}')).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit WHERE seq = 3').run()).toThrow(/append-only/);
    expect(() => log.append({ ...entry(3), body: { kw: Number.NaN } })).toThrow(AuditCanonicalError);
    expect(() => log.append({ ...entry(3), kind: 'guess' as AuditEntry['kind'] })).toThrow(AuditEntryError);
    expect(() => log.append({ ...entry(3), subject: { proposalId: '' } })).toThrow(AuditEntryError);
    expect(log.verify()).toMatchObject({ ok: true, records: 3 });
    db.close();
  });

  it('names exactly the record whose stored body had one byte flipped, for every record', () => {
    const { db, log } = filled(make);
    unlock(db);
    const get = db.prepare<[number], { body: string }>('SELECT body FROM audit WHERE seq = ?');
    const set = db.prepare<[string, number]>('UPDATE audit SET body = ? WHERE seq = ?');
    for (let seq = 1; seq <= N; seq++) {
      const body = Buffer.from(get.get(seq)!.body, 'utf8');
      const at = (seq * 7) % body.length; // a different position each time, structural characters included
      const flipped = Buffer.from(body);
      flipped[at] = flipped[at]! ^ 0x01;
      set.run(flipped.toString('utf8'), seq);
      const r = log.verify();
      expect(r, `byte ${at} of record ${seq}`).toMatchObject({ ok: false, at: seq, code: 'AUDIT_HASH_MISMATCH' });
      set.run(body.toString('utf8'), seq);
    }
    expect(log.verify()).toMatchObject({ ok: true, records: N });
    db.close();
  });

  it('names a flipped byte in the other columns too', () => {
    const { db, log } = filled(make);
    unlock(db);
    db.prepare("UPDATE audit SET kind = 'decisioN' WHERE seq = 12").run();
    expect(log.verify()).toMatchObject({ ok: false, at: 12, code: 'AUDIT_HASH_MISMATCH' });
    db.prepare('UPDATE audit SET kind = ? WHERE seq = 12').run(entry(11).kind);
    db.prepare('UPDATE audit SET at_ms = at_ms + 1 WHERE seq = 40').run();
    expect(log.verify()).toMatchObject({ ok: false, at: 40, code: 'AUDIT_HASH_MISMATCH' });
    db.prepare('UPDATE audit SET at_ms = at_ms - 1 WHERE seq = 40').run();
    db.prepare("UPDATE audit SET prev_hash = '1' || substr(prev_hash, 2) WHERE seq = 25").run();
    expect(log.verify()).toMatchObject({ ok: false, at: 25, code: 'AUDIT_PREV_MISMATCH' });
    db.close();
  });

  it('names a deleted record as the gap, first, middle or last-but-one', () => {
    for (const seq of [1, 17, N - 1]) {
      const { db, log } = filled(make);
      unlock(db);
      db.prepare('DELETE FROM audit WHERE seq = ?').run(seq);
      const r = log.verify();
      expect(r).toMatchObject({ ok: false, at: seq, code: 'AUDIT_SEQ_GAP' });
      expect(!r.ok && r.message).toContain(`record ${seq} is missing`);
      db.close();
    }
  });

  it('names the first of two reordered records, whether whole rows or only bodies were swapped', () => {
    for (const [a, b] of [[10, 30], [20, 21], [1, N]] as const) {
      const { db, log } = filled(make);
      unlock(db);
      const swapRows = db.transaction(() => {
        db.prepare('UPDATE audit SET seq = -1 WHERE seq = ?').run(a);
        db.prepare('UPDATE audit SET seq = ? WHERE seq = ?').run(a, b);
        db.prepare('UPDATE audit SET seq = ? WHERE seq = -1').run(b);
      });
      swapRows();
      expect(log.verify(), `rows ${a} and ${b}`).toMatchObject({ ok: false, at: a, code: 'AUDIT_PREV_MISMATCH' });
      swapRows();
      expect(log.verify()).toMatchObject({ ok: true });
      const body = db.prepare<[number], { body: string }>('SELECT body FROM audit WHERE seq = ?');
      const [bodyA, bodyB] = [body.get(a)!.body, body.get(b)!.body];
      db.prepare('UPDATE audit SET body = ? WHERE seq = ?').run(bodyB, a);
      db.prepare('UPDATE audit SET body = ? WHERE seq = ?').run(bodyA, b);
      expect(log.verify(), `bodies ${a} and ${b}`).toMatchObject({ ok: false, at: a, code: 'AUDIT_HASH_MISMATCH' });
      db.close();
    }
  });
});

describe('verifyChain on records in memory', () => {
  const chain = (() => {
    let head = EMPTY_HEAD;
    return Array.from({ length: N }, (_, i) => {
      const { record } = sealAuditRecord(head, entry(i));
      head = record;
      return record;
    });
  })();

  it('verifies records and rows alike, and a segment after a given head', () => {
    expect(verifyChain(chain)).toMatchObject({ ok: true, records: N, head: { seq: N } });
    expect(verifyChain(chain.slice(20), { after: chain[19]! })).toMatchObject({ ok: true, records: N - 20 });
    expect(verifyChain(chain.slice(20))).toMatchObject({ ok: false, at: 1, code: 'AUDIT_SEQ_GAP' });
    expect(verifyChain([])).toEqual({ ok: true, head: EMPTY_HEAD, records: 0 });
  });

  it('names two records swapped in order as out of order at the first, and a repeat', () => {
    const swapped = [...chain];
    [swapped[9], swapped[29]] = [chain[29]!, chain[9]!];
    const r = verifyChain(swapped);
    expect(r).toMatchObject({ ok: false, at: 10, code: 'AUDIT_SEQ_ORDER' });
    expect(!r.ok && r.message).toContain('record 30 stands where record 10 belongs');
    expect(verifyChain([...chain.slice(0, 5), chain[3]!, ...chain.slice(5)])).toMatchObject({ ok: false, at: 6, code: 'AUDIT_SEQ_ORDER' });
    expect(verifyChain([...chain.slice(0, 5), ...chain.slice(8)])).toMatchObject({ ok: false, at: 6, code: 'AUDIT_SEQ_GAP', message: expect.stringContaining('records 6..8 are missing') });
  });

  it('names an edited body and a malformed hash', () => {
    const edited = chain.map((r) => (r.seq === 33 ? { ...r, body: { ...(r.body as object), kw: 0 } } : r));
    expect(verifyChain(edited)).toMatchObject({ ok: false, at: 33, code: 'AUDIT_HASH_MISMATCH' });
    expect(verifyChain(chain.map((r) => (r.seq === 2 ? { ...r, hash: 'x' } : r)))).toMatchObject({ ok: false, at: 2, code: 'AUDIT_MALFORMED' });
  });

  it('canonical JSON sorts keys, has no whitespace, refuses what JSON cannot hold', () => {
    expect(auditCanonicalJson({ b: [1.5, 'x', null], a: { d: true, c: -0 } })).toBe('{"a":{"c":0,"d":true},"b":[1.5,"x",null]}');
    for (const bad of [Number.NaN, Infinity, undefined, { a: undefined }, [undefined], new Date(0), 1n, () => 1]) {
      expect(() => auditCanonicalJson(bad)).toThrow(AuditCanonicalError);
    }
  });
});

describe('checkpoints', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519');

  it('a signed checkpoint verifies; a tampered one, or one under another key, does not', () => {
    const { db, log } = filled(sides[0][1], 5);
    const cp = log.checkpoint(privateKey, 1_767_225_700_000);
    expect(cp).toMatchObject({ chainId: 'edge-1', seq: 5, hash: log.head().hash });
    expect(verifyCheckpoint(cp, publicKey)).toEqual({ ok: true });
    expect(verifyCheckpoint(JSON.parse(JSON.stringify(cp)), publicKey)).toEqual({ ok: true });
    for (const tampered of [{ ...cp, seq: 6 }, { ...cp, hash: GENESIS_HASH }, { ...cp, atMs: cp.atMs + 1 }, { ...cp, chainId: 'edge-2' }, { ...cp, signature: (cp.signature[0] === 'a' ? 'b' : 'a') + cp.signature.slice(1) }]) {
      expect(verifyCheckpoint(tampered, publicKey)).toMatchObject({ ok: false, code: 'AUDIT_CHECKPOINT_SIGNATURE' });
    }
    expect(verifyCheckpoint(cp, other.publicKey)).toMatchObject({ ok: false, code: 'AUDIT_CHECKPOINT_SIGNATURE' });
    expect(verifyCheckpoint({ ...cp, seq: -1 }, publicKey)).toMatchObject({ ok: false, code: 'AUDIT_CHECKPOINT_MALFORMED' });
    expect(verifyCheckpoint('nope', publicKey)).toMatchObject({ ok: false, code: 'AUDIT_CHECKPOINT_MALFORMED' });
    db.close();
  });

  it('detects truncation: the records removed from the end that verify alone cannot see', () => {
    const { db, log } = filled(sides[0][1]);
    const before = log.checkpoint(privateKey, 1);
    unlock(db);
    db.prepare('DELETE FROM audit WHERE seq > 45').run();
    expect(log.verify()).toMatchObject({ ok: true, records: 45 });
    const after = log.checkpoint(privateKey, 2);
    expect(compareCheckpoints(before, after)).toMatchObject({ ok: false, code: 'AUDIT_TRUNCATED', message: expect.stringContaining('5 records were removed') });
    db.close();
  });

  it('accepts a chain that extends the older head, and detects forks at the same or a later seq', () => {
    const a = filled(sides[0][1]);
    const b = filled(sides[0][1], N, (i) => (i >= 20 ? ' rewritten' : '')); // same first 20 records, then other history
    expect(b.log.rows(20, 20)[0]!.hash).toBe(a.log.rows(20, 20)[0]!.hash);
    const at30 = signCheckpoint({ chainId: 'edge-1', seq: 30, hash: a.log.rows(30, 30)[0]!.hash, atMs: 1 }, privateKey);
    const aHead = a.log.checkpoint(privateKey, 2);
    const bHead = b.log.checkpoint(privateKey, 2);
    expect(compareCheckpoints(aHead, aHead)).toEqual({ ok: true, status: 'same' });
    expect(compareCheckpoints(at30, aHead, a.log.rows(31))).toEqual({ ok: true, status: 'extends' });
    expect(compareCheckpoints(at30, aHead, a.log.rows(30))).toEqual({ ok: true, status: 'extends' });
    expect(compareCheckpoints(aHead, bHead)).toMatchObject({ ok: false, code: 'AUDIT_FORK' });
    expect(compareCheckpoints(at30, bHead)).toEqual({ ok: true, status: 'advanced' }); // no segment: linkage unchecked
    expect(compareCheckpoints(at30, bHead, b.log.rows(31))).toMatchObject({ ok: false, code: 'AUDIT_FORK' });
    expect(compareCheckpoints(at30, bHead, b.log.rows(25))).toMatchObject({ ok: false, code: 'AUDIT_FORK' });
    expect(compareCheckpoints(at30, bHead, a.log.rows(31))).toMatchObject({ ok: false, code: 'AUDIT_FORK' });
    expect(compareCheckpoints(at30, aHead, a.log.rows(31, 40))).toMatchObject({ ok: false, code: 'AUDIT_SEGMENT_INVALID' });
    const holed = a.log.rows(31).filter((r) => r.seq !== 35);
    expect(compareCheckpoints(at30, aHead, holed)).toMatchObject({ ok: false, code: 'AUDIT_SEGMENT_INVALID', chain: { at: 35, code: 'AUDIT_SEQ_GAP' } });
    expect(compareCheckpoints(at30, { ...aHead, chainId: 'edge-2' })).toMatchObject({ ok: false, code: 'AUDIT_CHAIN_ID_MISMATCH' });
    a.db.close();
    b.db.close();
  });
});
