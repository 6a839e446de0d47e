/**
 * Helpers shared by the signed-distribution commands (`keys`, `policy sign|publish|assign|status`,
 * `bundle`): key file names, repeated options, and how registry errors end a command.
 */
import { InvalidArgumentError } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isValidId } from '../protocols/index.js';
import { EXIT_CONFIG } from './options.js';

/** Exit code when the registry or the edge refused (threshold not met, update refused, ...). */
export const EXIT_REFUSED = 1;

/** Key file names `gridos keys init` writes: `<name>.key.pem` (private) and `<name>.pub.pem`. */
export const ONLINE_KEY_NAMES = ['snapshot', 'timestamp', 'assignment'] as const;
export type OnlineKeyName = (typeof ONLINE_KEY_NAMES)[number];

export function privateKeyFile(keysDir: string, name: string): string {
  return join(keysDir, `${name}.key.pem`);
}

/** For options given more than once: `--key a.pem --key b.pem`. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function fail(command: string, message: string, code: number = EXIT_CONFIG): never {
  process.stderr.write(`gridos ${command}: ${message}\n`);
  process.exit(code);
}

/** Ends the command for a registry error (its code and message, exit 1) or a missing file (exit 2); rethrows anything else. */
export function failOnRegistryError(command: string, err: unknown): never {
  if (err instanceof Error && err.name === 'HubTufError' && 'code' in err) fail(command, `${String(err.code)}: ${err.message}`, EXIT_REFUSED);
  if (err instanceof Error && 'code' in err && (err.code === 'ENOENT' || err.code === 'EEXIST' || err.code === 'EACCES')) fail(command, err.message);
  throw err;
}

/** Checks that each file exists before a ceremony starts, so a typo does not half-run it. */
export function requireFiles(command: string, files: readonly string[]): void {
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length > 0) fail(command, `no such file: ${missing.join(', ')}`);
}

/** An edge or site id as option: 1-64 letters, digits, '_', '.', '-'. */
export function idOption(value: string): string {
  if (!isValidId(value)) throw new InvalidArgumentError(`expected an id of 1-64 letters, digits, '_', '.', '-', got '${value}'`);
  return value;
}
