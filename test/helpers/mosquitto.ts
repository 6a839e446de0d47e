/** Starts Debian's mosquitto on a free loopback port with a config of its own, for tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

export interface Mosquitto {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export function mosquittoBinary(): string {
  for (const p of ['/usr/sbin/mosquitto', '/usr/bin/mosquitto']) if (existsSync(p)) return p;
  throw new Error('mosquitto is not installed: `apt-get install mosquitto` (.ci/run does this)');
}

/** Starts mosquitto, on `port` when given (to restart one at the same address), else on a free port. */
export async function startMosquitto(port?: number): Promise<Mosquitto> {
  const bin = mosquittoBinary();
  port ??= await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gridos-mosquitto-'));
  const conf = join(dir, 'mosquitto.conf');
  // Run as root in CI: without `user root` it would drop privileges; persistence is not needed here.
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\nmax_queued_messages 100000\n`);
  const proc: ChildProcess = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitFor(
    `mosquitto on port ${port} (${stderr.trim()})`,
    () =>
      new Promise<boolean>((resolve) => {
        if (proc.exitCode !== null) throw new Error(`mosquitto exited with ${proc.exitCode}: ${stderr}`);
        const s = connect(port!, '127.0.0.1', () => {
          s.end();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      }),
    10_000,
    50,
  );
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}
