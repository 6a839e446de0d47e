/** pino logger for the CLI: JSON lines by default, human-readable on a terminal or on request. */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type LogFormat = 'auto' | 'json' | 'pretty';

export function createLogger(options: { level: string; format: LogFormat; name?: string }): Logger {
  const base = { level: options.level, base: { name: options.name ?? 'gridos', pid: process.pid } };
  const usePretty = options.format === 'pretty' || (options.format === 'auto' && process.stdout.isTTY === true);
  // synchronous writes: a line logged before the process exits, or before a command's final stdout
  // line (the demo's JSON summary), is on stdout before it; a CLI logs little, so the cost is small
  if (!usePretty) return pino(base, pino.destination({ dest: 1, sync: true }));
  return pino(base, pretty({ colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true, sync: true }));
}
