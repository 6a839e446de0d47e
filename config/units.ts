/**
 * Human units in config files ("500ms", "5s", "15m", "1h"; "512KB", "1GiB") and the zod schemas
 * that compile them into plain numbers whose field names carry the unit (`flushIntervalMs`).
 */
import { z } from 'zod';

/** A parser for "<number><unit>" with the given units; undefined when the text is not one. */
function unitParser(units: Record<string, number>): (text: string) => number | undefined {
  const pattern = new RegExp(`^(\\d+(?:\\.\\d+)?)\\s*(${Object.keys(units).join('|')})$`);
  return (text) => {
    const m = pattern.exec(text.trim());
    return m ? Math.round(Number(m[1]) * units[m[2]!]!) : undefined;
  };
}

/** A number with a unit ("5s") or a plain whole number in the base unit. */
function withUnits(parse: (text: string) => number | undefined, expected: string, min: number) {
  return z.union([z.number().int().min(min), z.string()]).transform((v, ctx) => {
    if (typeof v === 'number') return v;
    const n = parse(v);
    if (n === undefined || n < min) {
      ctx.addIssue({ code: 'custom', message: `expected ${expected}`, input: v });
      return z.NEVER;
    }
    return n;
  });
}

/** Parses "250ms", "5s", "1.5m", "1h", "2d"; undefined when it is not a duration. */
export const parseDurationMs = unitParser({ ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 });

/** Parses "512KB", "64MiB", "1GB"; undefined when it is not a size. */
export const parseBytes = unitParser({ B: 1, KB: 1e3, MB: 1e6, GB: 1e9, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 });

/** A duration: a string with a unit ("5s") or a whole number of milliseconds. */
export const duration = withUnits(parseDurationMs, 'a duration such as "500ms", "5s", "15m" or "1h"', 0);

/** A size in bytes: a string with a unit ("64MiB") or a whole number of bytes. */
export const byteSize = withUnits(parseBytes, 'a size such as "512KB", "64MiB" or "1GB"', 1);

/** Site, edge, source and tag ids: safe in MQTT topics, file names and URLs. */
export const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, {
  message: "an id of 1-64 letters, digits, '_', '.', '-'",
});

export const port = z.number().int().min(0).max(65535);

export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
