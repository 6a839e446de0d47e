/**
 * Human units in config files ("500ms", "5s", "15m", "1h") and the zod schemas that compile
 * them into plain numbers whose field names carry the unit (`flushIntervalMs`).
 */
import { z } from 'zod';

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;
const MS_PER: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "250ms", "5s", "1.5m", "1h", "2d"; undefined when it is not a duration. */
export function parseDurationMs(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * MS_PER[m[2]!]!);
}

/** A duration: a string with a unit ("5s") or a whole number of milliseconds. */
export const duration = z.union([z.number().int().nonnegative(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return v;
  const ms = parseDurationMs(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration such as "500ms", "5s", "15m" or "1h"', input: v });
    return z.NEVER;
  }
  return ms;
});

/** Site, edge, source and tag ids: safe in MQTT topics, file names and URLs. */
export const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, {
  message: "an id of 1-64 letters, digits, '_', '.', '-'",
});

export const port = z.number().int().min(0).max(65535);

export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

const SIZE = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)$/;
const BYTES_PER: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** Parses "512KB", "64MiB", "1GB"; undefined when it is not a size. */
export function parseBytes(text: string): number | undefined {
  const m = SIZE.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * BYTES_PER[m[2]!]!);
}

/** A size in bytes: a string with a unit ("64MiB") or a whole number of bytes. */
export const byteSize = z.union([z.number().int().positive(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return v;
  const bytes = parseBytes(v);
  if (bytes === undefined || bytes <= 0) {
    ctx.addIssue({ code: 'custom', message: 'expected a size such as "512KB", "64MiB" or "1GB"', input: v });
    return z.NEVER;
  }
  return bytes;
});
