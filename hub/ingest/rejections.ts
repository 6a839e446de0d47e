/**
 * Logging refused payloads without flooding: the first refusal of each (source, code) is logged
 * with its reason; later ones are only counted, and the count is reported when the source
 * sends something valid again or on close.
 */
import type { Logger } from 'pino';

export class RejectionLog {
  private readonly suppressed = new Map<string, number>();

  constructor(private readonly log: Logger) {}

  /** Records a refusal; logs it when it is the first of its kind from this source. */
  refuse(source: string, code: string, message: string, fields: Record<string, unknown> = {}): void {
    const key = `${source}\u0000${code}`;
    const seen = this.suppressed.get(key);
    if (seen === undefined) {
      this.suppressed.set(key, 0);
      this.log.warn({ source, code, ...fields }, `refused a payload from ${source}: ${message} (further ones from this source with this code are counted, not logged)`);
    } else {
      this.suppressed.set(key, seen + 1);
    }
  }

  /** Reports and resets the suppressed count for a source that is healthy again. */
  recovered(source: string): void {
    for (const [key, count] of this.suppressed) {
      if (!key.startsWith(source + '\u0000')) continue;
      if (count > 0) this.log.info({ source, code: key.slice(source.length + 1), suppressed: count }, `${count} more payload(s) from ${source} were refused`);
      this.suppressed.delete(key);
    }
  }
}
