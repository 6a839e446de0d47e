/**
 * bin/gridos-edge, the gateway launcher: it must start the same `gridos edge` with its memory
 * settings, forward every argument, and keep its own variables away from the agent (which reads
 * every GRIDOS_ variable as a config override). A stand-in `node` records what it was given,
 * then runs the real one.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const LAUNCHER = fileURLToPath(new URL('../../bin/gridos-edge', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'gridos-launcher-'));

function launch(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', [LAUNCHER, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(`launcher did not finish: ${stderr}`))), 20_000);
    child.on('exit', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })));
  });
}

/** A `node` that writes its arguments and environment to `record`, then execs the real node. */
function recordingNode(record: string): string {
  const path = join(dir, `node-${Math.random().toString(36).slice(2)}`);
  writeFileSync(path, `#!/bin/sh\nprintf '%s\\n' "$@" > '${record}.argv'\nenv > '${record}.env'\nexec '${process.execPath}' "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

describe('bin/gridos-edge', () => {
  it("starts `gridos edge` with the gateway's V8 flags and malloc settings, and forwards every argument", async () => {
    const record = join(dir, 'default');
    const r = await launch(['--check', '--config', 'config/edge.example.yaml'], { GRIDOS_LAUNCH_NODE: recordingNode(record) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('valid edge configuration');
    const argv = readFileSync(`${record}.argv`, 'utf8').trim().split('\n');
    expect(argv.slice(0, 2)).toEqual(['--max-semi-space-size=4', '--heap-growing-percent=40']);
    expect(argv[2]).toMatch(/dist\/bin\/gridos\.js$/);
    expect(argv.slice(3)).toEqual(['edge', '--check', '--config', 'config/edge.example.yaml']);
    const env = readFileSync(`${record}.env`, 'utf8');
    expect(env).toMatch(/^GLIBC_TUNABLES=.*glibc\.malloc\.trim_threshold=131072/m);
    expect(env).not.toMatch(/^GRIDOS_LAUNCH_/m);
  });

  it('GRIDOS_LAUNCH_FLAGS replaces the flags ("" for none) and is not taken for a config key', async () => {
    for (const [flags, expected] of [
      ['--max-old-space-size=256', ['--max-old-space-size=256']],
      ['', []],
    ] as const) {
      const record = join(dir, `flags-${expected.length}`);
      const r = await launch(['--check', '--config', 'config/edge.example.yaml'], { GRIDOS_LAUNCH_NODE: recordingNode(record), GRIDOS_LAUNCH_FLAGS: flags });
      expect(r.code, r.stderr).toBe(0);
      const argv = readFileSync(`${record}.argv`, 'utf8').trim().split('\n');
      expect(argv.slice(0, argv.findIndex((a) => a.endsWith('gridos.js')))).toEqual(expected);
    }
  });

  it('answers --help as gridos edge does', async () => {
    const r = await launch(['--help'], {});
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: gridos edge/);
  });
});
