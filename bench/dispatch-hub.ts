/**
 * The hub's side of the dispatch benchmark: `gridos hub` (the built CLI, embedded broker) in its
 * own process on loopback ports, an operator added with `gridos hub user add`, and a logged-in
 * API session (cookie + x-csrf-token on every call, reads included).
 *
 * Input: a scratch directory. Output: the hub's URLs, its decision key (PEM) and a session.
 * State kept: the child process (stopped with SIGTERM, then SIGKILL after 5 s).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { freeLoopbackPort } from '../simulators/substation/free-port.js';

const GRIDOS = fileURLToPath(new URL('../bin/gridos.js', import.meta.url));
const OPERATOR = 'bench-operator';

export interface HubSession {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
}

export interface HubProcess {
  httpUrl: string;
  brokerUrl: string;
  decisionKeyPem: string;
  session: HubSession;
  stop(): Promise<void>;
}

class HubApiError extends Error {
  constructor(
    readonly status: number,
    readonly route: string,
    body: string,
  ) {
    super(`hub API ${route}: HTTP ${status}: ${body.slice(0, 300)}`);
  }
}

/** Logs in and returns a session that sends the cookie and the CSRF token on every call. */
async function login(httpUrl: string, name: string, password: string): Promise<HubSession> {
  const res = await fetch(`${httpUrl}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password }) });
  if (!res.ok) throw new HubApiError(res.status, 'POST /api/login', await res.text());
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  const headers = { cookie, 'x-csrf-token': csrfToken };
  const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const r = await fetch(`${httpUrl}${path}`, { method, headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) });
    if (!r.ok) throw new HubApiError(r.status, `${method} ${path}`, await r.text());
    return (await r.json()) as T;
  };
  return { get: (path) => call('GET', path), post: (path, body) => call('POST', path, body) };
}

export async function startHubProcess(dir: string, log: (msg: string) => void): Promise<HubProcess> {
  const [httpPort, mqttPort] = [await freeLoopbackPort(), await freeLoopbackPort()];
  const config = join(dir, 'hub.yaml');
  writeFileSync(config, stringify({ http: { host: '127.0.0.1', port: httpPort }, broker: { mode: 'embedded', host: '127.0.0.1', port: mqttPort }, storage: { dataDir: join(dir, 'hub') } }));
  const password = randomBytes(18).toString('base64url');
  const added = spawnSync(process.execPath, [GRIDOS, 'hub', 'user', 'add', OPERATOR, '--role', 'operator', '--password-stdin', '--config', config], { input: `${password}\n`, encoding: 'utf8', timeout: 30_000 });
  if (added.status !== 0) throw new Error(`gridos hub user add exited ${added.status}: ${added.stderr}`);

  const child: ChildProcess = spawn(process.execPath, [GRIDOS, 'hub', '--config', config, '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-8000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the hub did not start in 30 s: ${tail}`)), 30_000);
    const check = () => {
      if (tail.includes('"msg":"hub started"')) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`the hub exited ${code}: ${tail}`)));
  });
  log(`hub process ${child.pid} on http://127.0.0.1:${httpPort}, broker mqtt://127.0.0.1:${mqttPort}`);
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const session = await login(httpUrl, OPERATOR, password);
  const { publicKeyPem } = await session.get<{ publicKeyPem: string }>('/api/decision-key');
  return {
    httpUrl,
    brokerUrl: `mqtt://127.0.0.1:${mqttPort}`,
    decisionKeyPem: publicKeyPem,
    session,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
