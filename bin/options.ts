/** Small helpers shared by the CLI commands: typed option parsers and the config error exit. */
import { InvalidArgumentError } from 'commander';
import { ConfigError } from '../config/index.js';

export function intOption(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, got '${value}'`);
    return n;
  };
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got '${value}'`);
  return n;
}

/** A date and time; without a zone it is read as the substation's local clock (naive, kept in UTC fields). */
export function dateOption(value: string): Date {
  const d = new Date(/(Z|[+-]\d\d:?\d\d)$/.test(value) ? value : `${value}Z`);
  if (Number.isNaN(d.getTime())) throw new InvalidArgumentError(`expected a date and time such as 2018-07-16T00:00, got '${value}'`);
  return d;
}

export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;

/** Exit code for a configuration the user has to fix. */
export const EXIT_CONFIG = 2;

/** Prints a ConfigError as one problem per line and exits; rethrows anything else. */
export function exitOnConfigError(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`gridos: invalid configuration (${err.problems.length} problem${err.problems.length === 1 ? '' : 's'}):\n`);
    for (const line of err.message.split('\n')) process.stderr.write(`  ${line}\n`);
    process.exit(EXIT_CONFIG);
  }
  throw err;
}

/** Runs `stop` once on SIGINT or SIGTERM, then exits. */
export function onShutdown(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\ngridos: ${signal}, stopping...\n`);
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`gridos: error while stopping: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => handler('SIGINT'));
  process.once('SIGTERM', () => handler('SIGTERM'));
}
