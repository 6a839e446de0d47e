/**
 * Talking to the hub: JSON reads and writes with the session cookie, the CSRF token on writes,
 * and failures as typed values (`HubError`: the hub's code and message, or HUB_UNREACHABLE).
 * The user and CSRF token of this tab are kept in sessionStorage (gone when the tab closes).
 */
import type { Me } from './types.js';

export class HubError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const SESSION_KEY = 'gridos.session';

export interface Session extends Me {
  csrfToken: string;
}

export function session(): Session | undefined {
  const raw = sessionStorage.getItem(SESSION_KEY);
  return raw ? (JSON.parse(raw) as Session) : undefined;
}

export function forget(): void {
  sessionStorage.removeItem(SESSION_KEY);
}

async function call<T>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const csrf = session()?.csrfToken;
  if (method === 'POST' && csrf) headers['x-csrf-token'] = csrf;
  let res: Response;
  try {
    res = await fetch(url, { method, headers, cache: 'no-store', credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch {
    throw new HubError(0, 'HUB_UNREACHABLE', 'the hub does not answer; check that it runs and that this machine can reach it');
  }
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    throw new HubError(res.status, 'HUB_BAD_ANSWER', `${url}: HTTP ${res.status}, not JSON`);
  }
  if (!res.ok) {
    const e = (data ?? {}) as { error?: string; message?: string };
    throw new HubError(res.status, e.error ?? `HTTP_${res.status}`, e.message ?? `${url}: HTTP ${res.status}`);
  }
  return data as T;
}

export const getJson = <T>(url: string) => call<T>('GET', url);
export const postJson = <T>(url: string, body: unknown) => call<T>('POST', url, body);

export async function login(name: string, password: string): Promise<Session> {
  const r = await postJson<{ name: string; role: Me['role']; csrfToken: string }>('/api/login', { name, password });
  const s: Session = { name: r.name, role: r.role, csrfToken: r.csrfToken };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
  return s;
}

export async function logout(): Promise<void> {
  try {
    await postJson('/api/logout', {});
  } finally {
    forget();
  }
}
