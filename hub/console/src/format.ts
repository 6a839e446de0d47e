/**
 * Formatting for the console: every number with its unit, every time in the browser's local
 * zone (named in the header), and HTML escaping for text from the hub. Pure functions.
 */
export const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

/** "UTC+01:00"-style offset of the local zone now. */
export function zoneOffset(atMs = Date.now()): string {
  const m = -new Date(atMs).getTimezoneOffset();
  const sign = m >= 0 ? '+' : '-';
  const a = Math.abs(m);
  return `UTC${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A value with its unit; a dash when there is none. */
export function num(v: number | null | undefined, unit: string, digits?: number): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '&ndash;';
  const d = digits ?? (Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : Math.abs(v) >= 1 ? 2 : 3);
  const text = numberFormat(d).format(v);
  return unit ? `${text}&nbsp;${esc(unit)}` : text;
}

// Formatters are built once: toLocaleString() builds one per call, and a thousand rows of
// decided approvals took seconds that way.
const numberFormats = new Map<number, Intl.NumberFormat>();
function numberFormat(digits: number): Intl.NumberFormat {
  let f = numberFormats.get(digits);
  if (!f) numberFormats.set(digits, (f = new Intl.NumberFormat(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits })));
  return f;
}
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });

export function time(ms: number | null | undefined): string {
  return ms ? timeFormat.format(ms) : '&ndash;';
}

export function dateTime(ms: number | null | undefined): string {
  return ms ? dateTimeFormat.format(ms) : '&ndash;';
}

/** `<time>` element carrying the instant (machine-readable) and its local rendering. */
export function timeEl(ms: number | null | undefined, withDate = false): string {
  if (!ms) return '&ndash;';
  return `<time datetime="${new Date(ms).toISOString()}">${withDate ? dateTime(ms) : time(ms)}</time>`;
}

/** "4 min 05 s", "2 h 10 min", "12 s". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}&nbsp;s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}&nbsp;min ${String(s % 60).padStart(2, '0')}&nbsp;s`;
  return `${Math.floor(m / 60)}&nbsp;h ${String(m % 60).padStart(2, '0')}&nbsp;min`;
}

export function interval(startMs: number | null, endMs: number | null): string {
  if (!startMs || !endMs) return '&ndash;';
  return `${timeEl(startMs, true)} &ndash; ${timeEl(endMs)} (${duration(endMs - startMs)})`;
}

export const ACTION_NAMES: Record<string, string> = {
  battery_discharge: 'Battery discharge',
  battery_charge: 'Battery charge',
  pv_curtailment: 'PV curtailment',
};

export const QUALITY_NAMES = ['good', 'uncertain', 'bad', 'stale'];
