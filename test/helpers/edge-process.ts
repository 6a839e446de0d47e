/**
 * Runs an edge agent as a child process (`gridos edge`, the built command), so fault tests can
 * SIGKILL it at any moment and start it again on the same store.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { EdgeConfigInput } from '../../config/index.js';
import { GRIDOS_BIN } from './cli.js';
import { waitFor } from './wait.js';

export interface EdgeProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** Writes the config next to the store and returns its path. */
export function writeEdgeConfig(dir: string, config: EdgeConfigInput, name = 'edge.yaml'): string {
  const file = join(dir, name);
  writeFileSync(file, stringify(config));
  return file;
}

export function startEdgeProcess(configFile: string): EdgeProcess {
  const child = spawn(process.execPath, [GRIDOS_BIN, 'edge', '--config', configFile, '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/** Waits until the agent logged that its sources are subscribed. */
export async function waitUntilIngesting(edge: EdgeProcess, timeoutMs = 20_000): Promise<void> {
  await waitFor('the edge to subscribe to its source', () => edge.output().includes('OPC UA subscription active') || (edge.child.exitCode !== null ? Promise.reject(new Error(`edge exited: ${edge.output().slice(-2000)}`)) : false), timeoutMs, 50);
}

export async function kill9(edge: EdgeProcess): Promise<void> {
  if (edge.child.exitCode === null && edge.child.signalCode === null) edge.child.kill('SIGKILL');
  await edge.exited;
}
