/** The real command line: a bad config file makes `gridos` exit non-zero and list every bad key. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runGridos } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'gridos-cli-'));

describe('gridos with a bad config file', () => {
  it('edge: exits 2 and prints each bad key with what was expected', async () => {
    const file = join(dir, 'edge.yaml');
    writeFileSync(
      file,
      ['edge: { id: edge-1, site: "has space" }', 'hub: { mqttUrl: 1883 }', 'storage: { dataDir: ./d }', 'sources:', '  - { kind: opcua, name: s, endpoint: "http://x", tags: [] }', 'extra: 1', ''].join('\n'),
    );
    const r = await runGridos(['edge', '--config', file]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toBe('gridos: invalid configuration (5 problems):');
    expect(lines).toEqual(
      expect.arrayContaining([
        `  ${file}: edge.site: expected an id of 1-64 letters, digits, '_', '.', '-', got string "has space"`,
        `  ${file}: hub.mqttUrl: expected string, got number 1883`,
        `  ${file}: sources.0.endpoint: expected an opc.tcp:// endpoint URL, got string "http://x"`,
        `  ${file}: sources.0.tags: expected at least 1 item(s), got a list of 0`,
        `  ${file}: extra: unknown key (check its spelling and level)`,
      ]),
    );
  });

  it('hub: a bad environment override is named, and --check validates without starting', async () => {
    const bad = await runGridos(['hub', '--check'], { env: { GRIDOS_BROKER__MODE: 'cloud' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('env GRIDOS_BROKER__MODE (over (defaults)): broker.mode:');
    const good = await runGridos(['hub', '--check', '--config', 'config/hub.example.yaml']);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain('config/hub.example.yaml: valid hub configuration');
  });

  it('edge: a config file that does not exist', async () => {
    const r = await runGridos(['edge', '--config', join(dir, 'missing.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(dir, 'missing.yaml')}: (document): cannot read the config file: no such file`);
  });

  it('every command answers --help', async () => {
    for (const args of [['--help'], ['hub', '--help'], ['edge', '--help'], ['sim', 'substation', '--help'], ['demo', '--help']]) {
      const r = await runGridos(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout, args.join(' ')).toMatch(/^Usage: gridos/);
    }
  });
});
