/**
 * The stale-mirror alarm: an edge that has synced its audit chain before, is online and keeps
 * being heard from (telemetry, state), but whose mirror has not been confirmed current for
 * `audit.staleAfter` (15 min) is alarmed `stale` once. Current means its head record arrived, or
 * the edge's signed checkpoint of that same head did: a quiet edge sends one every
 * uplink.auditHeadEvery (5 min), so having nothing to record is not mistaken for being stuck. The
 * alarm clears by itself, recorded with when, once the mirror advances or is confirmed again.
 * An offline edge is not stale (its link state says what is wrong), nor is one
 * that never synced (nothing to be behind on).
 *
 * `staleDecision` is the rule, pure; `StaleMirrorWatch` applies it to every edge now and then.
 */
import type { Logger } from 'pino';
import type { AuditAlarmTable } from './alarms.js';
import type { AuditAlarm } from './judge.js';

export interface StaleFacts {
  /**
   * When the mirror was last known current: its head record arrived, or the edge's signed
   * checkpoint of that head did later (a quiet edge says so every uplink.auditHeadEvery).
   * Undefined when nothing was ever mirrored.
   */
  confirmedMs: number | undefined;
  /** The mirror's head seq now. */
  headSeq: number;
  /** When anything last arrived from the edge. */
  lastSeenMs: number;
  online: boolean;
  /** The edge's stale alarm that has not cleared (acknowledged or not): the head seq it was raised at, and when. */
  open: { seq: number; atMs: number } | undefined;
}

export type StaleDecision = 'raise' | 'clear' | 'none';

/** Raise, clear, or leave the edge's stale alarm as it is. */
export function staleDecision(f: StaleFacts, staleAfterMs: number): StaleDecision {
  if (f.open) return f.headSeq !== f.open.seq || (f.confirmedMs !== undefined && f.confirmedMs > f.open.atMs) ? 'clear' : 'none';
  if (f.confirmedMs === undefined || !f.online) return 'none';
  return f.lastSeenMs - f.confirmedMs > staleAfterMs ? 'raise' : 'none';
}

export interface StaleEdge {
  id: string;
  online: boolean;
  lastSeenMs: number;
}

export interface StaleMirrorWatchOptions {
  alarms: AuditAlarmTable;
  edges: () => StaleEdge[];
  head: (edgeId: string) => { seq: number; hash: string };
  confirmedMs: (edgeId: string) => number | undefined;
  staleAfterMs: number;
  now: () => number;
  /** Told of each stale alarm raised (logs, the alarms counter). */
  onAlarm: (edgeId: string, alarm: AuditAlarm) => void;
  logger: Logger;
}

export class StaleMirrorWatch {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: StaleMirrorWatchOptions) {}

  /** Checks every edge once; returns what changed. */
  check(): { raised: string[]; cleared: string[] } {
    const { alarms, staleAfterMs } = this.o;
    const out = { raised: [] as string[], cleared: [] as string[] };
    for (const e of this.o.edges()) {
      const head = this.o.head(e.id);
      const confirmedMs = this.o.confirmedMs(e.id);
      const open = alarms.uncleared(e.id, 'stale');
      const decision = staleDecision({ confirmedMs, headSeq: head.seq, lastSeenMs: e.lastSeenMs, online: e.online, open }, staleAfterMs);
      if (decision === 'clear' && open) {
        const atMs = confirmedMs ?? this.o.now();
        alarms.clear(open.id, atMs);
        out.cleared.push(e.id);
        this.o.logger.info({ edge: e.id, alarm: open.id, from: open.seq, head: head.seq }, 'audit mirror advanced or confirmed current again: stale alarm cleared');
      } else if (decision === 'raise') {
        const forMin = Math.round((e.lastSeenMs - confirmedMs!) / 60_000);
        const alarm: AuditAlarm = {
          kind: 'stale',
          code: 'HUB_AUDIT_STALE',
          seq: head.seq,
          hash: head.hash,
          message: `edge ${e.id} is online and was last heard from ${new Date(e.lastSeenMs).toISOString()}, but its audit mirror has not been confirmed current (record ${head.seq}) since ${new Date(confirmedMs!).toISOString()} (${forMin} min, audit.staleAfter ${Math.round(staleAfterMs / 60_000)} min)`,
        };
        if (alarms.raise(e.id, alarm, this.o.now())) {
          out.raised.push(e.id);
          this.o.onAlarm(e.id, alarm);
        }
      }
    }
    return out;
  }

  /** Checks every `everyMs` until stopped. */
  start(everyMs: number): void {
    this.timer = setInterval(() => {
      try {
        this.check();
      } catch (err) {
        this.o.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not check audit mirrors for staleness; trying again later');
      }
    }, everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
