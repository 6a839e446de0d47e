/**
 * `gridos audit verify`, the built command as a user runs it, on SQLite files written by the
 * edge's audit log and then tampered with: exit 0 and the head when intact, exit 1 naming the
 * first broken record, exit 2 when there is nothing to read.
 */
import Database from 'better-sqlite3';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgeAuditLog, loadOrCreateEdgeKey } from '../../edge/audit/index.js';
import { EdgeAuditMirror } from '../../hub/audit/index.js';
import { AUDIT_KINDS, signCheckpoint } from '../../protocols/audit/index.js';
import { checkpointToWire } from '../../protocols/index.js';
import { runGridos } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'gridos-audit-cli-'));
const intact = join(dir, 'intact.sqlite');
const CLI_TIMEOUT_MS = 20_000;
const N = 50;
let head = '';

/** A copy of the intact file, changed with SQL (triggers dropped, as a person with the file could). */
function tampered(name: string, sql: string): string {
  const file = join(dir, `${name}.sqlite`);
  copyFileSync(intact, file);
  const db = new Database(file);
  db.exec('DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;');
  db.exec(sql);
  db.close();
  return file;
}

beforeAll(() => {
  const db = new Database(intact);
  const log = new EdgeAuditLog(db, { chainId: 'edge-1' });
  for (let i = 0; i < N; i++) log.append({ atMs: 1_767_225_600_000 + i * 1000, kind: AUDIT_KINDS[i % AUDIT_KINDS.length]!, subject: { proposalId: `p-${Math.floor(i / 7)}` }, body: { i, kw: 100.25 * i } });
  head = log.head().hash;
  db.close(); // one file, no -wal beside it: copies are complete
}, 180_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('gridos audit verify', () => {
  it('an intact chain: exit 0, the record count and the head', async () => {
    const r = await runGridos(['audit', 'verify', '--db', intact], { timeoutMs: CLI_TIMEOUT_MS });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`ok: ${N} records, head ${head}\n`);
    const j = await runGridos(['audit', 'verify', '--db', intact, '--table', 'audit', '--json'], { timeoutMs: CLI_TIMEOUT_MS });
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toEqual({ ok: true, head: { seq: N, hash: head }, records: N });
  });

  it('a flipped byte in a body: exit 1 naming that record', async () => {
    const file = tampered('flipped', "UPDATE audit SET body = replace(body, '\"kw\":', '\"kw\";') WHERE seq = 23");
    const r = await runGridos(['audit', 'verify', '--db', file], { timeoutMs: CLI_TIMEOUT_MS });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^broken at record 23: AUDIT_HASH_MISMATCH: record 23's contents hash to /);
  });

  it('a deleted record: exit 1 naming the gap', async () => {
    const file = tampered('deleted', 'DELETE FROM audit WHERE seq = 31');
    const r = await runGridos(['audit', 'verify', '--db', file], { timeoutMs: CLI_TIMEOUT_MS });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('broken at record 31: AUDIT_SEQ_GAP: record 31 is missing (record 30 is followed by record 32)\n');
  });

  it('two reordered records: exit 1 naming the first, also as JSON', async () => {
    const file = tampered('reordered', 'UPDATE audit SET seq = -1 WHERE seq = 12; UPDATE audit SET seq = 12 WHERE seq = 40; UPDATE audit SET seq = 40 WHERE seq = -1;');
    const r = await runGridos(['audit', 'verify', '--db', file], { timeoutMs: CLI_TIMEOUT_MS });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^broken at record 12: AUDIT_PREV_MISMATCH: /);
    const j = await runGridos(['audit', 'verify', '--db', file, '--json'], { timeoutMs: CLI_TIMEOUT_MS });
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, at: 12, code: 'AUDIT_PREV_MISMATCH' });
  });

  it('a missing file or table: exit 2 with a message; --help names the options', async () => {
    const missing = await runGridos(['audit', 'verify', '--db', join(dir, 'nope.sqlite')], { timeoutMs: CLI_TIMEOUT_MS });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file');
    const noTable = await runGridos(['audit', 'verify', '--db', intact, '--table', 'other'], { timeoutMs: CLI_TIMEOUT_MS });
    expect(noTable.code).toBe(2);
    expect(noTable.stderr).toContain("has no table 'other'");
    const help = await runGridos(['audit', 'verify', '--help'], { timeoutMs: CLI_TIMEOUT_MS });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--db <file>');
    expect(help.stdout).toContain('--table <name>');
    expect(help.stdout).toContain('--json');
  });
});

describe('gridos audit verify --hub-data --edge (an edge chain mirrored at the hub)', () => {
  /** A hub data dir whose mirror holds edge-1's intact chain, then changed with SQL. */
  function hubData(name: string, sql?: string): string {
    const hubDir = join(dir, name);
    mkdirSync(hubDir, { recursive: true });
    const db = new Database(join(hubDir, 'hub.db'));
    const edge = new Database(intact, { readonly: true });
    const rows = new EdgeAuditLog(edge, { chainId: 'edge-1' }).rows();
    edge.close();
    const key = loadOrCreateEdgeKey(join(dir, `${name}-edge`));
    const mirror = new EdgeAuditMirror(db, { keys: new Map([['edge-1', { key: key.privateKey, keyId: key.keyId }]]) });
    const last = rows[rows.length - 1]!;
    const cp = signCheckpoint({ chainId: 'edge-1', seq: last.seq, hash: last.hash, atMs: 1 }, key.privateKey);
    expect(mirror.apply('edge-1', { edgeId: 'edge-1', records: rows, checkpoint: checkpointToWire(cp, key.keyId) }, 1).status).toBe('merged');
    if (sql) db.exec(`DROP TRIGGER edge_audit_no_update; DROP TRIGGER edge_audit_no_delete; ${sql}`);
    db.close();
    return hubDir;
  }

  it('intact: exit 0; a record changed at the hub: exit 1 naming it; an unknown edge: exit 2', async () => {
    const ok = await runGridos(['audit', 'verify', '--hub-data', hubData('hub-ok'), '--edge', 'edge-1'], { timeoutMs: CLI_TIMEOUT_MS });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(`ok: ${N} records, head ${head}\n`);
    const changed = hubData('hub-changed', `UPDATE edge_audit SET body = replace(body, '"kw":', '"kW":') WHERE edge_id = 'edge-1' AND seq = 17`);
    const bad = await runGridos(['audit', 'verify', '--hub-data', changed, '--edge', 'edge-1', '--json'], { timeoutMs: CLI_TIMEOUT_MS });
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, at: 17, code: 'AUDIT_HASH_MISMATCH' });
    const other = await runGridos(['audit', 'verify', '--hub-data', changed, '--edge', 'edge-9'], { timeoutMs: CLI_TIMEOUT_MS });
    expect(other.code).toBe(2);
    expect(other.stderr).toContain("no audit records of edge 'edge-9'");
    const half = await runGridos(['audit', 'verify', '--hub-data', changed], { timeoutMs: CLI_TIMEOUT_MS });
    expect(half.code).toBe(2);
    expect(half.stderr).toContain('--hub-data and --edge go together');
  });
});

describe('gridos audit key', () => {
  it("prints the edge's public audit key, creating it (mode 0600) on first use, the same key after", async () => {
    const dataDir = join(dir, 'key-edge');
    const config = join(dir, 'edge.yaml');
    writeFileSync(config, `edge: { id: edge-7, site: north }\nhub: { mqttUrl: 'mqtt://127.0.0.1:1' }\nstorage: { dataDir: ${dataDir} }\nsources: [{ kind: replay, name: r, file: x.csv, tags: [{ id: t1 }] }]\n`);
    const first = await runGridos(['audit', 'key', '--config', config, '--json'], { timeoutMs: CLI_TIMEOUT_MS });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const out = JSON.parse(first.stdout) as { edgeId: string; keyId: string; publicKeyPem: string; file: string };
    expect(out).toMatchObject({ edgeId: 'edge-7', keyId: expect.stringMatching(/^[0-9a-f]{64}$/), publicKeyPem: expect.stringContaining('BEGIN PUBLIC KEY') });
    expect(statSync(out.file).mode & 0o777).toBe(0o600);
    const again = await runGridos(['audit', 'key', '--config', config], { timeoutMs: CLI_TIMEOUT_MS });
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(out.publicKeyPem);
    expect(again.stderr).toContain('edgeKeys:');
  });
});
