/**
 * The ed25519 key file (protocols/key-file.ts): made once, 0600, complete on disk before it has
 * its name (no temporary file left behind); an existing key is loaded, never replaced; processes
 * starting at once all end up with the same key.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOrCreateEd25519Key } from '../../protocols/key-file.js';

const DIST_KEY_FILE = fileURLToPath(new URL('../../dist/protocols/key-file.js', import.meta.url));
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gridos-key-file-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('loadOrCreateEd25519Key', () => {
  it('creates the key once (0600, a complete PEM, no temporary file left); loads it again after', () => {
    const path = join(dir, 'keys', 'k.pem');
    const made = loadOrCreateEd25519Key(path, 'a test key');
    expect(readFileSync(path, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'keys'))).toEqual(['k.pem']);
    expect(loadOrCreateEd25519Key(path, 'a test key').keyId).toBe(made.keyId);
  });

  it('processes starting at once all end up with the same key', async () => {
    const path = join(dir, 'race.pem');
    const script = `import { loadOrCreateEd25519Key } from ${JSON.stringify(DIST_KEY_FILE)}; console.log(loadOrCreateEd25519Key(${JSON.stringify(path)}, 'k').keyId);`;
    const run = () => promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
    const ids = (await Promise.all([run(), run(), run(), run()])).map((r) => r.stdout.trim());
    expect(new Set(ids).size).toBe(1);
    expect(loadOrCreateEd25519Key(path, 'k').keyId).toBe(ids[0]);
    expect(readdirSync(dir)).toEqual(['race.pem']);
  }, 30_000);
});
