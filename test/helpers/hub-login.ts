/**
 * Logging tests in to the hub's API, which reads nothing out without a session. For a hub built in
 * the test (`buildHub`): `loginToHub` adds a user of the role (once) and logs in through inject().
 * For a hub running as another process: `addHubUser` writes the user into its store on disk (the
 * same tables `gridos hub user add` writes), `loginOverHttp` logs in with fetch.
 * A session is its cookie (send it back as the `cookie` header) and its CSRF token (the
 * `x-csrf-token` header of every POST).
 */
import { join } from 'node:path';
import { HubStore, type Hub } from '../../hub/index.js';
import { UserStore, type Role } from '../../hub/auth/index.js';

export const TEST_PASSWORD = 'correct horse battery staple';

export interface HubSession {
  cookie: string;
  csrf: string;
  /** `{ cookie }`, to spread into a request's headers. */
  headers: { cookie: string };
}

function sessionOf(setCookie: string | string[] | undefined, body: unknown): HubSession {
  const cookie = String(setCookie ?? '').split(';')[0] ?? '';
  if (!cookie.startsWith('gridos_session=')) throw new Error(`login gave no session cookie: ${String(setCookie)}`);
  return { cookie, csrf: (body as { csrfToken: string }).csrfToken, headers: { cookie } };
}

/** Adds `name` (default `test-<role>`) with `role` if missing, and logs in through inject(). */
export async function loginToHub(hub: Hub, role: Role = 'viewer', name = `test-${role}`): Promise<HubSession> {
  if (!hub.users.byName(name)) await hub.users.add(name, role, TEST_PASSWORD, Date.now());
  const res = await hub.app.inject({ method: 'POST', url: '/api/login', payload: { name, password: TEST_PASSWORD } });
  if (res.statusCode !== 200) throw new Error(`login as ${name} refused: ${res.statusCode} ${res.body}`);
  return sessionOf(res.headers['set-cookie'], res.json());
}

/** Adds a user to the hub store under `dataDir` (its `hub.db`), for a hub in another process. */
export async function addHubUser(dataDir: string, name: string, role: Role = 'viewer', password = TEST_PASSWORD): Promise<void> {
  const store = new HubStore(join(dataDir, 'hub.db'));
  try {
    const users = new UserStore(store.sqlite());
    if (!users.byName(name)) await users.add(name, role, password, Date.now());
  } finally {
    store.close();
  }
}

/** Logs in to a hub listening at `httpUrl`. */
export async function loginOverHttp(httpUrl: string, name: string, password = TEST_PASSWORD): Promise<HubSession> {
  const res = await fetch(`${httpUrl}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password }) });
  if (!res.ok) throw new Error(`login as ${name} at ${httpUrl} refused: ${res.status} ${await res.text()}`);
  return sessionOf(res.headers.get('set-cookie') ?? undefined, await res.json());
}
