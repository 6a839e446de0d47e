/**
 * The console's live feed: watches the hub's store once a second while anyone listens and turns
 * what changed into typed events, fanned out to every `GET /api/events` stream.
 *
 *   escalation  a new pending escalation            { id, edgeId }
 *   approval    a first approval of a two-person rule { id, edgeId, approvals }
 *   decision    an escalation left pending           { id, edgeId, state }
 *   edge        an edge's link state changed         { edgeId, online, reason }
 *   readings    an edge's newest reading moved on    { edgeId, lastReadingTsMs, tagCount }
 *   audit       an edge's mirrored audit chain grew  { edgeId, seq }  (its execution records arrive)
 *
 * Watching the store (rather than hooking ingest and approvals) sees every writer, including
 * another hub process on the same file. State: the last snapshot and the listeners.
 */
import type Database from 'better-sqlite3';
import type { ApprovalStore } from '../approvals/index.js';
import type { HubStore } from '../store/hub-store.js';

export type FeedEvent =
  | { type: 'escalation'; data: { id: number; edgeId: string } }
  | { type: 'approval'; data: { id: number; edgeId: string; approvals: number } }
  | { type: 'decision'; data: { id: number; edgeId: string; state: string } }
  | { type: 'edge'; data: { edgeId: string; online: boolean; reason: string } }
  | { type: 'readings'; data: { edgeId: string; lastReadingTsMs: number; tagCount: number } }
  | { type: 'audit'; data: { edgeId: string; seq: number } };

export type FeedListener = (e: FeedEvent) => void;

export interface Snapshot {
  escalations: Map<number, { edgeId: string; state: string; approvals: number }>;
  edges: Map<string, { online: boolean; reason: string; lastReadingTsMs: number; tagCount: number }>;
  /** Each edge's mirrored audit head seq. */
  auditHeads: Map<string, number>;
}

export interface ConsoleFeedOptions {
  store: HubStore;
  approvals: ApprovalStore;
  now: () => number;
  /** Each edge's mirrored audit head seq (EdgeAuditMirror.heads). */
  auditHeads?: () => Map<string, number>;
  intervalMs?: number;
}

/** Escalations watched: pending ones and those decided in the last hour (older ones no longer change). */
const RECENT_MS = 3_600_000;

export class ConsoleFeed {
  private readonly listeners = new Set<FeedListener>();
  private timer: NodeJS.Timeout | undefined;
  private last: Snapshot | undefined;
  private readonly recent: Database.Statement<[number]>;

  constructor(private readonly o: ConsoleFeedOptions) {
    this.recent = o.store.sqlite().prepare(`SELECT e.id, e.edge_id AS edgeId, e.state,
      (SELECT count(*) FROM escalation_approvals a WHERE a.escalation_id = e.id) AS approvals
      FROM escalations e WHERE e.state = 'pending' OR e.decided_ms >= ?`);
  }

  /** Adds a listener; returns its removal. The watch runs only while someone listens. */
  subscribe(l: FeedListener): () => void {
    this.listeners.add(l);
    if (!this.timer) {
      this.last = this.snapshot();
      this.timer = setInterval(() => this.tick(), this.o.intervalMs ?? 1000);
      this.timer.unref();
    }
    return () => {
      this.listeners.delete(l);
      if (this.listeners.size === 0) this.close();
    };
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private snapshot(): Snapshot {
    const t = this.o.now();
    this.o.approvals.expire(t);
    const rows = this.recent.all(t - RECENT_MS) as { id: number; edgeId: string; state: string; approvals: number }[];
    return {
      escalations: new Map(rows.map((r) => [r.id, { edgeId: r.edgeId, state: r.state, approvals: r.approvals }])),
      edges: new Map(this.o.store.edges().map((e) => [e.id, { online: e.online, reason: e.stateReason, lastReadingTsMs: e.lastReadingTsMs, tagCount: e.tagCount }])),
      auditHeads: this.o.auditHeads?.() ?? new Map(),
    };
  }

  private tick(): void {
    let next: Snapshot;
    try {
      next = this.snapshot();
    } catch {
      return; // the store is closing; the next tick (or none) decides
    }
    const prev = this.last!;
    this.last = next;
    for (const e of diff(prev, next)) for (const l of this.listeners) l(e);
  }
}

/** The events that lead from one snapshot to the next (pure). */
export function diff(prev: Snapshot, next: Snapshot): FeedEvent[] {
  const out: FeedEvent[] = [];
  for (const [id, e] of next.escalations) {
    const before = prev.escalations.get(id);
    if (!before && e.state === 'pending') out.push({ type: 'escalation', data: { id, edgeId: e.edgeId } });
    else if (e.state !== 'pending' && (!before || before.state !== e.state)) out.push({ type: 'decision', data: { id, edgeId: e.edgeId, state: e.state } });
    else if (before && e.state === 'pending' && before.approvals !== e.approvals) out.push({ type: 'approval', data: { id, edgeId: e.edgeId, approvals: e.approvals } });
  }
  for (const [edgeId, e] of next.edges) {
    const before = prev.edges.get(edgeId);
    if (!before || before.online !== e.online || before.reason !== e.reason) out.push({ type: 'edge', data: { edgeId, online: e.online, reason: e.reason } });
    if (!before || before.lastReadingTsMs !== e.lastReadingTsMs || before.tagCount !== e.tagCount) out.push({ type: 'readings', data: { edgeId, lastReadingTsMs: e.lastReadingTsMs, tagCount: e.tagCount } });
  }
  for (const [edgeId, seq] of next.auditHeads) if (prev.auditHeads.get(edgeId) !== seq) out.push({ type: 'audit', data: { edgeId, seq } });
  return out;
}
