/**
 * Holiday calendars for the feature builder. Built in: `us` (US federal holidays that move load,
 * with the observed weekday when one falls on a weekend, plus the day after Thanksgiving and
 * Christmas Eve) and `none`; or a file of dates (one `YYYY-MM-DD` per line, `#` comments), for
 * calendars no rule can compute (lunar holidays, regional days).
 *
 * Pure once built: `isHoliday(dayIndex)` where dayIndex = floor(naive-local ms / 1 day).
 */
import { readFileSync } from 'node:fs';
import { DAY_MS, parseNaiveMs } from './series.js';

export interface HolidayCalendar {
  /** `us`, `none`, or `file:<sha256 prefix>` for a file; recorded in the model card. */
  readonly name: string;
  /** For calendars read from a file: the dates, so a model card can carry them to the edge. */
  readonly dates?: readonly string[];
  isHoliday(dayIndex: number): boolean;
}

export const NO_HOLIDAYS: HolidayCalendar = { name: 'none', isHoliday: () => false };

/** Day index of the n-th (1-based; -1 = last) given weekday (0 = Sunday) of a month. */
function nthWeekday(year: number, month: number, weekday: number, n: number): number {
  if (n > 0) {
    const first = Date.UTC(year, month, 1) / DAY_MS;
    const dow = new Date(first * DAY_MS).getUTCDay();
    return first + ((weekday - dow + 7) % 7) + (n - 1) * 7;
  }
  const last = Date.UTC(year, month + 1, 0) / DAY_MS;
  const dow = new Date(last * DAY_MS).getUTCDay();
  return last - ((dow - weekday + 7) % 7);
}

function usHolidays(year: number): number[] {
  const fixed = (m: number, d: number): number[] => {
    const day = Date.UTC(year, m, d) / DAY_MS;
    const dow = new Date(day * DAY_MS).getUTCDay();
    // the observed weekday is a day off too; the date itself still changes how people live
    return dow === 6 ? [day, day - 1] : dow === 0 ? [day, day + 1] : [day];
  };
  const thanksgiving = nthWeekday(year, 10, 4, 4);
  return [
    ...fixed(0, 1),
    nthWeekday(year, 0, 1, 3), // Martin Luther King Jr. Day
    nthWeekday(year, 1, 1, 3), // Presidents' Day
    nthWeekday(year, 4, 1, -1), // Memorial Day
    ...fixed(6, 4),
    nthWeekday(year, 8, 1, 1), // Labor Day
    thanksgiving,
    thanksgiving + 1,
    Date.UTC(year, 11, 24) / DAY_MS,
    ...fixed(11, 25),
    Date.UTC(year, 11, 31) / DAY_MS,
  ];
}

export const US_HOLIDAYS: HolidayCalendar = (() => {
  const days = new Set<number>();
  for (let y = 1990; y <= 2100; y++) for (const d of usHolidays(y)) days.add(d);
  return { name: 'us', isHoliday: (d: number) => days.has(d) };
})();

export class CalendarError extends Error {
  override readonly name = 'CalendarError';
  readonly code = 'MODEL_CALENDAR_INVALID';
}

/** A calendar from a list of dates; `name` should identify the content (the card records it). */
export function calendarFromDates(text: string, name: string, file = 'calendar'): HolidayCalendar {
  const days = new Set<number>();
  const dates: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.replace(/#.*/, '').trim();
    if (t === '') return;
    const ms = parseNaiveMs(t);
    if (ms === undefined || ms % DAY_MS !== 0) throw new CalendarError(`${file}:${i + 1}: expected a date 'YYYY-MM-DD', got '${t}'`);
    days.add(ms / DAY_MS);
    dates.push(t);
  });
  return { name, dates, isHoliday: (d: number) => days.has(d) };
}

/** `us`, `none`, or a path to a file of dates. */
export function resolveCalendar(spec: string, hash: (text: string) => string): HolidayCalendar {
  if (spec === 'us') return US_HOLIDAYS;
  if (spec === 'none') return NO_HOLIDAYS;
  const text = readFileSync(spec, 'utf8');
  return calendarFromDates(text, `file:${hash(text).slice(0, 16)}`, spec);
}

/**
 * The calendar a model card names, as the edge rebuilds it to serve the model; undefined for a
 * name this build does not know (serving with other holidays than training would be skew).
 */
export function calendarOfCard(holidays: { name: string; dates?: readonly string[] | undefined }): HolidayCalendar | undefined {
  if (holidays.dates) return calendarFromDates(holidays.dates.join('\n'), holidays.name);
  if (holidays.name === 'us') return US_HOLIDAYS;
  if (holidays.name === 'none') return NO_HOLIDAYS;
  return undefined;
}
