/**
 * The runtime's alarms: at most one per (role, code). Raising one already raised changes nothing
 * (so a failing model logs one warning, not one per forecast); clearing logs at info. Each change
 * sets the alarm gauge and calls `onAlarm`, whose failure is logged and never reaches the caller.
 */
import type { Logger } from 'pino';
import type { ForecastMetrics } from './metrics.js';
import type { Alarm, FallbackCode, Role } from './types.js';

export class AlarmBook {
  private readonly raised = new Map<string, Alarm>();

  constructor(
    private readonly target: string,
    private readonly logger: Logger,
    private readonly metrics: ForecastMetrics,
    private readonly now: () => number,
    private readonly onAlarm?: (alarm: Alarm, raised: boolean) => void,
  ) {}

  /** Returns true when the alarm is new. */
  raise(role: Role, code: FallbackCode, message: string): boolean {
    const key = `${role}:${code}`;
    if (this.raised.has(key)) return false;
    const alarm: Alarm = { target: this.target, role, code, message, sinceMs: this.now() };
    this.raised.set(key, alarm);
    this.metrics.alarm.set({ target: this.target, role, code }, 1);
    this.logger.warn({ role, code }, `model alarm raised (${role}): ${message}`);
    this.notify(alarm, true);
    return true;
  }

  clear(role: Role, code: FallbackCode, why: string): boolean {
    const key = `${role}:${code}`;
    const alarm = this.raised.get(key);
    if (!alarm) return false;
    this.raised.delete(key);
    this.metrics.alarm.set({ target: this.target, role, code }, 0);
    this.logger.info({ role, code }, `model alarm cleared (${role} ${code}): ${why}`);
    this.notify(alarm, false);
    return true;
  }

  /** Clears every alarm of a role (its model was replaced). */
  clearRole(role: Role, why: string): void {
    for (const a of [...this.raised.values()]) if (a.role === role) this.clear(role, a.code, why);
  }

  has(role: Role, code: FallbackCode): boolean {
    return this.raised.has(`${role}:${code}`);
  }

  list(): Alarm[] {
    return [...this.raised.values()].map((a) => ({ ...a }));
  }

  private notify(alarm: Alarm, raised: boolean): void {
    if (!this.onAlarm) return;
    try {
      this.onAlarm({ ...alarm }, raised);
    } catch (err) {
      this.logger.error({ err, code: alarm.code }, 'onAlarm threw; the alarm stands in the runtime');
    }
  }
}
