/**
 * Audit sync: sends the edge's audit chain to the hub's mirror (hub/audit/mirror.ts), in runs of
 * records, each with a checkpoint of its last record signed by the edge's key, through the outbox
 * (audit lane: durable, never dropped, resent until the hub acknowledges it).
 *
 * What has been queued is remembered in the edge store (`audit_sent_seq`, `audit_sent_hash`),
 * committed in the same transaction as the messages: after a restart or an outage it goes on
 * from there, the outbox delivers what was queued, so the hub gets every record once in effect.
 * When the chain's head is behind or beside what was queued (records removed or rewritten
 * here), the head alone is reported, signed, so the hub sees it and alarms: this code does not
 * judge its own chain, it tells the hub what it holds.
 *
 * Runs after each append in this process (deferred to the next turn) and every `everyMs`
 * (appends by another process, and a head that changed under it).
 */
import type { Logger } from 'pino';
import { signCheckpoint, type AuditHead, type AuditRow } from '../../protocols/audit/index.js';
import { checkpointToWire, type AuditSync, type Ed25519KeyFile } from '../../protocols/index.js';
import type { EdgeStore, OutboxDraft } from '../store/edge-store.js';
import type { EdgeAuditLog } from './log.js';

export interface AuditHubSyncOptions {
  edgeId: string;
  log: EdgeAuditLog;
  key: Ed25519KeyFile;
  store: Pick<EdgeStore, 'commit' | 'metaValue'>;
  draft: (audit: AuditSync) => OutboxDraft;
  /** Told when messages were queued (the uplink's kick). */
  onQueued: () => void;
  now: () => number;
  logger: Logger;
  everyMs: number;
  /** Records per message, at most. */
  batchRecords: number;
  /** Bytes of record text per message, about, at most (one record always fits). */
  maxBatchBytes: number;
}

const SENT_SEQ = 'audit_sent_seq';
const SENT_HASH = 'audit_sent_hash';
/** Messages per transaction: a long chain is queued over several turns. */
const MAX_MESSAGES_PER_TURN = 20;
/** Wire bytes of a record beyond its subject and body text: seq, times, kind, two hashes. */
const RECORD_OVERHEAD_BYTES = 200;

export class AuditHubSync {
  private timer: NodeJS.Timeout | undefined;
  private pending: NodeJS.Immediate | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly log: Logger;

  constructor(private readonly o: AuditHubSyncOptions) {
    this.log = o.logger.child({ component: 'audit-sync' });
  }

  start(): void {
    this.unsubscribe = this.o.log.onAppend(() => this.soon());
    this.timer = setInterval(() => this.syncSafely(), this.o.everyMs);
    this.soon();
  }

  /** What has been queued for the hub so far (seq 0: nothing). */
  sent(): AuditHead {
    const seq = Number(this.o.store.metaValue(SENT_SEQ) ?? 0);
    return { seq, hash: String(this.o.store.metaValue(SENT_HASH) ?? '') };
  }

  /** Syncs on the next turn of the event loop (appends in a row share one pass). */
  soon(): void {
    this.pending ??= setImmediate(() => {
      this.pending = undefined;
      this.syncSafely();
    });
  }

  private syncSafely(): void {
    try {
      this.syncNow();
    } catch (err) {
      // A full disk: nothing was queued and the cursor did not move; the next pass tries again.
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not queue audit records for the hub; trying again later');
    }
  }

  /** Queues what the hub has not been sent; returns how many messages. */
  syncNow(): number {
    const { log, store, batchRecords, maxBatchBytes } = this.o;
    const sent = this.sent();
    const head = log.head();
    if (head.seq === 0 || (head.seq === sent.seq && head.hash === sent.hash)) return 0;
    if (head.seq <= sent.seq) {
      this.log.error({ sentSeq: sent.seq, headSeq: head.seq }, `the audit chain's head is now record ${head.seq}, but record ${sent.seq} was already sent to the hub: records were removed or rewritten here; reporting the head to the hub`);
      this.queue([this.o.draft(this.message([], head))], head);
      return 1;
    }
    const drafts: OutboxDraft[] = [];
    let last = sent;
    while (drafts.length < MAX_MESSAGES_PER_TURN) {
      const rows = cut(log.rowsAfter(last.seq, batchRecords), maxBatchBytes);
      if (rows.length === 0) break;
      if (drafts.length === 0 && sent.seq > 0 && rows[0]!.prevHash !== sent.hash) {
        this.log.error({ sentSeq: sent.seq, seq: rows[0]!.seq }, `audit record ${rows[0]!.seq} does not link to record ${sent.seq} as it was sent to the hub: the chain was rewritten here`);
      }
      const end = rows[rows.length - 1]!;
      drafts.push(this.o.draft(this.message(rows, end)));
      last = { seq: end.seq, hash: end.hash };
    }
    this.queue(drafts, last);
    if (last.seq < head.seq) this.soon();
    return drafts.length;
  }

  private message(records: AuditRow[], head: AuditHead): AuditSync {
    const cp = signCheckpoint({ chainId: this.o.log.chainId, seq: head.seq, hash: head.hash, atMs: this.o.now() }, this.o.key.privateKey);
    return { edgeId: this.o.edgeId, records, checkpoint: checkpointToWire(cp, this.o.key.keyId) };
  }

  private queue(drafts: OutboxDraft[], through: AuditHead): void {
    if (drafts.length === 0) return;
    this.o.store.commit({ outbox: drafts, meta: { [SENT_SEQ]: through.seq, [SENT_HASH]: through.hash } });
    this.log.debug({ messages: drafts.length, through: through.seq }, 'audit records queued for the hub');
    this.o.onQueued();
  }

  /** Stops, after queueing what was appended last (the dispatch loop's final records). */
  stop(): void {
    clearInterval(this.timer);
    if (this.pending) clearImmediate(this.pending);
    this.pending = undefined;
    this.unsubscribe?.();
    this.syncSafely();
  }
}

/** The leading rows that fit in `maxBytes` (at least one). */
function cut(rows: AuditRow[], maxBytes: number): AuditRow[] {
  let bytes = 0;
  for (let i = 0; i < rows.length; i++) {
    bytes += rows[i]!.subjectJson.length + rows[i]!.bodyJson.length + RECORD_OVERHEAD_BYTES;
    if (i > 0 && bytes > maxBytes) return rows.slice(0, i);
  }
  return rows;
}
