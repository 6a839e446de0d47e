/**
 * The substation's local clock for forecasting. Models think in "naive local" hours (local clock
 * time written as if it were UTC: hour of day, day of week and holidays need no time zone);
 * the agent's aggregates are stamped with its own clock (ms since the epoch). A ForecastClock
 * converts between the two:
 *  - real time: naive = wall + the time zone's offset at that instant (around a clock change an
 *    hour is missing or doubled, as in the training data);
 *  - simulated time (a simulator running `hourMs` per hour): naive = simulatedStart + (wall -
 *    wallStart) scaled, so the demo's minutes are the model's hours.
 */
export interface ForecastClock {
  /** Length of one hour on the agent's clock. */
  readonly hourMs: number;
  toNaive(wallMs: number): number;
  toWall(naiveMs: number): number;
}

const HOUR_MS = 3_600_000;

function offsetMs(format: Intl.DateTimeFormat, wallMs: number): number {
  const parts: Record<string, number> = {};
  for (const p of format.formatToParts(new Date(wallMs))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const asUtc = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour! % 24, parts.minute!, parts.second!);
  return asUtc - Math.floor(wallMs / 1000) * 1000;
}

export function realTimeClock(timeZone: string): ForecastClock {
  const format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
  return {
    hourMs: HOUR_MS,
    toNaive: (wallMs) => wallMs + offsetMs(format, wallMs),
    toWall: (naiveMs) => {
      const guess = naiveMs - offsetMs(format, naiveMs);
      return naiveMs - offsetMs(format, guess);
    },
  };
}

/** `simulatedStartNaiveMs` is the naive-local time at `wallStartMs`; one simulated hour lasts `hourMs`. */
export function simulatedClock(hourMs: number, simulatedStartNaiveMs: number, wallStartMs: number): ForecastClock {
  const speed = HOUR_MS / hourMs;
  return {
    hourMs,
    toNaive: (wallMs) => simulatedStartNaiveMs + (wallMs - wallStartMs) * speed,
    toWall: (naiveMs) => wallStartMs + (naiveMs - simulatedStartNaiveMs) / speed,
  };
}
