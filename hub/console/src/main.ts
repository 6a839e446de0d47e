/**
 * The console shell: hash routes (#/fleet, #/edge/<id>, #/approvals, #/audit?q=, #/login), the
 * header (user, role, logout, local time zone), banners (hub unreachable, live link down, the
 * page's own notice), and the live feed that refreshes the open page when something it shows
 * changed. A 401 anywhere sends the user to the login page.
 */
import { forget, HubError, logout, session } from './api.js';
import { approvalsPage } from './approvals.js';
import { auditPage } from './audit.js';
import { edgePage } from './edge.js';
import { fleetPage } from './fleet.js';
import { esc, timeZone, zoneOffset } from './format.js';
import { openLive, type LiveEventType } from './live.js';
import { renderLogin } from './login.js';
import type { Page, PageContext } from './page.js';
import type { Me } from './types.js';

const main = document.getElementById('main')!;
const hubBanner = document.getElementById('hub-banner')!;
const noticeEl = document.getElementById('notice')!;
const userEl = document.getElementById('user')!;
document.getElementById('tz')!.textContent = `Times in ${timeZone} (${zoneOffset()})`;

let current: Page | undefined;
let stopLive: (() => void) | undefined;
let refreshTimer: number | undefined;
let liveUp = true;

function showHubBanner(text: string | null): void {
  hubBanner.textContent = text ?? '';
  hubBanner.hidden = text === null;
}

function notice(text: string | null, kind: 'error' | 'warn' | 'ok' = 'warn'): void {
  noticeEl.textContent = text ?? '';
  noticeEl.className = `banner ${kind}`;
  noticeEl.hidden = text === null;
}

function showUser(me: Me | undefined): void {
  userEl.innerHTML = me
    ? `<span>${esc(me.name)}</span> <span class="badge role" data-role="${esc(me.role)}">${esc(me.role)}</span> <button type="button" id="logout">Log out</button>`
    : '';
  document.getElementById('logout')?.addEventListener('click', async () => {
    await logout().catch(() => undefined);
    stopLive?.();
    stopLive = undefined;
    location.hash = '#/login';
  });
  document.getElementById('nav')!.hidden = !me;
}

async function load(page: Page): Promise<void> {
  try {
    await page.refresh();
    // After the first view, so that view costs one request to the hub.
    startLive();
    showHubBanner(liveUp ? null : 'Live updates interrupted: reconnecting to the hub...');
  } catch (e) {
    if (e instanceof HubError && e.status === 401) {
      forget();
      location.hash = `#/login?next=${encodeURIComponent(location.hash)}`;
      return;
    }
    if (e instanceof HubError && e.code === 'HUB_UNREACHABLE') showHubBanner(`Hub unreachable: ${e.message}. Showing the last data; retrying.`);
    else notice(e instanceof HubError ? `${e.message} (${e.code})` : String(e), 'error');
  }
}

function onLive(type: LiveEventType): void {
  if (!current?.liveEvents.includes(type)) return;
  // Several events in one burst: one reload.
  window.clearTimeout(refreshTimer);
  const page = current;
  refreshTimer = window.setTimeout(() => void load(page), 250);
}

function startLive(): void {
  if (stopLive) return;
  stopLive = openLive({
    onEvent: (t) => onLive(t),
    onLink: (up) => {
      const was = liveUp;
      liveUp = up;
      if (!up) showHubBanner('Live updates interrupted: the hub does not answer; reconnecting...');
      else if (!was && current) void load(current); // catch up on what was missed
      else showHubBanner(null);
    },
  });
}

function route(): void {
  current?.dispose();
  current = undefined;
  notice(null);
  const hash = location.hash || '#/approvals';
  const [path = '', query = ''] = hash.slice(1).split('?');
  const params = new URLSearchParams(query);
  const root = document.createElement('div');
  main.replaceChildren(root);
  main.removeAttribute('data-rendered');
  for (const a of document.querySelectorAll<HTMLAnchorElement>('#nav a')) a.setAttribute('aria-current', String(path.startsWith(a.getAttribute('href')!.slice(1))));
  const me = session();
  if (path === '/login' || !me) {
    showUser(undefined);
    const next = params.get('next') ?? (path === '/login' ? '#/approvals' : hash);
    const target = next === '#/login' ? '#/approvals' : next;
    // The same hash fires no hashchange: route by hand.
    renderLogin(root, () => (location.hash === target ? route() : (location.hash = target)), path === '/login' ? undefined : 'Log in to see the console.');
    main.dataset.rendered = 'login';
    return;
  }
  showUser(me);
  const ctx: PageContext = { root, me, notice, rendered: (view) => {
      main.dataset.rendered = view;
      performance.mark(`gridos-rendered-${view}`); // the console benchmark reads the first one
    },
  };
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'fleet') current = fleetPage(ctx);
  else if (parts[0] === 'edge' && parts[1]) current = edgePage(ctx, decodeURIComponent(parts[1]));
  else if (parts[0] === 'audit') current = auditPage(ctx, params.get('q') ?? '');
  else current = approvalsPage(ctx);
  main.focus({ preventScroll: true });
  void load(current);
}

window.addEventListener('hashchange', route);
// A session kept in this tab but ended at the hub shows the login at the page's first 401.
route();
