/**
 * Starts Debian's victoria-metrics on a free loopback port: a real server that accepts the
 * InfluxDB v2 write API (/api/v2/write), read back through its export API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

export interface VictoriaMetrics {
  url: string;
  port: number;
  /** Series matching `selector`, as victoria-metrics exports them. */
  exportSeries(selector: string): Promise<{ metric: Record<string, string>; values: number[]; timestamps: number[] }[]>;
  stop(): Promise<void>;
}

const BIN = '/usr/bin/victoria-metrics';

export async function startVictoriaMetrics(options: { port?: number; dataDir?: string } = {}): Promise<VictoriaMetrics> {
  if (!existsSync(BIN)) throw new Error('victoria-metrics is not installed: `apt-get install victoria-metrics` (.ci/run does this)');
  const port = options.port ?? (await freePort());
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'gridos-vm-'));
  const proc: ChildProcess = spawn(BIN, [`-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${dataDir}`, '-search.latencyOffset=0s', '-loggerLevel=ERROR'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`victoria-metrics on port ${port}`, async () => {
    if (proc.exitCode !== null) throw new Error(`victoria-metrics exited: ${stderr}`);
    return (await fetch(`${url}/health`).catch(() => undefined))?.ok === true;
  }, 15_000, 100);
  return {
    url,
    port,
    async exportSeries(selector) {
      await fetch(`${url}/internal/force_flush`);
      const res = await fetch(`${url}/api/v1/export?match[]=${encodeURIComponent(selector)}`);
      const text = await res.text();
      return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { metric: Record<string, string>; values: number[]; timestamps: number[] });
    },
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}
