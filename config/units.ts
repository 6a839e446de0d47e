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

/** Parses "250ms", "5s", "1.5m", "5 min", "1h", "2d"; undefined when it is not a duration. */
export const parseDurationMs = unitParser({ ms: 1, s: 1_000, min: 60_000, m: 60_000, h: 3_600_000, d: 86_400_000 });

/** Parses "512KB", "64MiB", "1GB"; undefined when it is not a size. */
export const parseBytes = unitParser({ B: 1, KB: 1e3, MB: 1e6, GB: 1e9, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 });

/** A duration: a string with a unit ("5s") or a whole number of milliseconds. */
export const duration = withUnits(parseDurationMs, 'a duration such as "500ms", "5s", "15m" or "1h"', 0);

/** A size in bytes: a string with a unit ("64MiB") or a whole number of bytes. */
export const byteSize = withUnits(parseBytes, 'a size such as "512KB", "64MiB" or "1GB"', 1);

/**
 * A physical quantity: a plain number in the base unit, or "<number> <unit>" with one of `units`
 * (factors to the base unit). Unlike durations it keeps fractions ("0.5 kW"), and may allow
 * negative numbers where the quantity can be (none of the policy's can).
 */
export function quantity(units: Record<string, number>, expected: string) {
  const pattern = new RegExp(`^(-?\\d+(?:\\.\\d+)?)\\s*(${Object.keys(units).map((u) => u.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`);
  return z.union([z.number(), z.string()]).transform((v, ctx) => {
    if (typeof v === 'number') {
      if (Number.isFinite(v)) return v;
    } else {
      const m = pattern.exec(v.trim());
      if (m) return Number(m[1]) * units[m[2]!]!;
    }
    ctx.addIssue({ code: 'custom', message: `expected ${expected}`, input: v });
    return z.NEVER;
  });
}

/** Active power in kW: 250, "250 kW", "1.5 MW", "800 W". */
export const powerKw = quantity({ kW: 1, MW: 1000, W: 0.001 }, 'a power such as 250, "250 kW" or "1.5 MW"');

/** Energy in kWh: 500, "500 kWh", "2 MWh". */
export const energyKwh = quantity({ kWh: 1, MWh: 1000, Wh: 0.001 }, 'an energy such as 500, "500 kWh" or "2 MWh"');

/** A percentage: 30 or "30 %". */
export const percent = quantity({ '%': 1 }, 'a percentage such as 30 or "30 %"');

/** A per-unit value (voltage against nominal): 1.05 or "1.05 pu". */
export const perUnit = quantity({ pu: 1 }, 'a per-unit value such as 1.05 or "1.05 pu"');

/** Site, edge, source and tag ids: safe in MQTT topics, file names and URLs. */
export const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, {
  message: "an id of 1-64 letters, digits, '_', '.', '-'",
});

export const port = z.number().int().min(0).max(65535);

export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
