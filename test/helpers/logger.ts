/** A pino logger that keeps its records in memory, so tests can assert what was logged. */
import { pino, type Logger } from 'pino';
import { Writable } from 'node:stream';

export interface CapturedLogger {
  logger: Logger;
  records: Record<string, unknown>[];
}

export function captureLogger(level = 'info'): CapturedLogger {
  const records: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) records.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level }, stream), records };
}
