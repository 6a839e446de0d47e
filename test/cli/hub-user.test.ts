/**
 * `gridos hub user add|passwd|disable`, the built command as an admin runs it, against a hub's
 * data dir; the result is checked by logging in to a hub built on that same store.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hubConfigSchema, validateConfig } from '../../config/index.js';
import { buildHub } from '../../hub/index.js';
import { GRIDOS_BIN } from '../helpers/cli.js';
import { captureLogger } from '../helpers/logger.js';

const dir = mkdtempSync(join(tmpdir(), 'gridos-hub-user-'));
const dataDir = join(dir, 'data');
const configFile = join(dir, 'hub.yaml');
writeFileSync(configFile, `storage: { dataDir: ${JSON.stringify(dataDir)} }\n`);

function gridos(args: string[], input = '') {
  const r = spawnSync(process.execPath, [GRIDOS_BIN, ...args], { input, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function loginStatus(name: string, password: string): Promise<number> {
  const config = validateConfig(hubConfigSchema, { storage: { dataDir } }, 'test');
  const hub = await buildHub(config, { logger: captureLogger('fatal').logger });
  try {
    return (await hub.app.inject({ method: 'POST', url: '/api/login', payload: { name, password } })).statusCode;
  } finally {
    await hub.stop();
  }
}

describe('gridos hub user', () => {
  it('adds a user, changes the password, disables; refuses duplicates, weak passwords and unknown users', async () => {
    expect(gridos(['hub', 'user', 'add', 'ana', '--role', 'operator', '--password-stdin', '--config', configFile], 'first passphrase\n')).toMatchObject({ code: 0, stdout: 'added ana (operator)\n' });
    expect(await loginStatus('ana', 'first passphrase')).toBe(200);
    expect(gridos(['hub', 'user', 'add', 'ana', '--role', 'viewer', '--password-stdin', '--config', configFile], 'x passphrase\n').code).toBe(1);
    expect(gridos(['hub', 'user', 'add', 'ben', '--role', 'viewer', '--password-stdin', '--config', configFile], 'short\n')).toMatchObject({ code: 1, stderr: expect.stringContaining('at least 10 characters') });
    expect(gridos(['hub', '--config', configFile, 'user', 'passwd', 'ana', '--password-stdin'], 'second passphrase\n').code).toBe(0);
    expect(await loginStatus('ana', 'first passphrase')).toBe(401);
    expect(await loginStatus('ana', 'second passphrase')).toBe(200);
    expect(gridos(['hub', 'user', 'disable', 'ana', '--config', configFile]).code).toBe(0);
    expect(await loginStatus('ana', 'second passphrase')).toBe(401);
    expect(gridos(['hub', 'user', 'disable', 'nobody', '--config', configFile])).toMatchObject({ code: 1, stderr: "gridos hub user: no user 'nobody'\n" });
  });

  it('`gridos hub --check` still works beside the subcommand', () => {
    expect(gridos(['hub', '--config', configFile, '--check'])).toMatchObject({ code: 0, stdout: `${configFile}: valid hub configuration\n` });
  });
});
