/**
 * Audit sync: sends the edge's audit chain to the hub's mirror (hub/audit/mirror.ts), in runs of
 * records, each with a checkpoint of its last record signed by the edge's key, through the outbox
 * (audit lane: durable, never dropped, resent until the hub acknowledges it).
 *
 * What has been queued is remembered in the edge store (`audit_sent_seq`, `audit_sent_hash`),
 * committed in the same transaction as the messages: after a restart or an outage it goes on
 * from there, the outbox delivers what was queued, so the hub gets every record once in effect.
 * Queued is not merged: the uplink may deliver runs out of order, and the hub's mirror may be
 * behind (a key registered late, a store restored from a backup). The hub answers a run it did not
 * merge with its mirrored head (`hubHead`, an AuditHead on cmd/audit-head); when that is behind the
 * cursor, the cursor goes back to it and the records after it are sent again (the hub merges a
 * run it already holds as a no-op). An answer to a run queued before the last rewind is stale (the
 * resend covers it); after a rewind for a refused run (no key at the hub), further refusals do not
 * rewind again: the next early answer does (the hub took a key and now misses the records).
 * When the chain's head is behind or beside what was queued (records removed or rewritten
 * here, all of them too: head 0), the head alone is reported, signed, so the hub sees it and
 * alarms: this code does not judge its own chain, it tells the hub what it holds.
 *
 * A record the hub refused as invalid (its answer names it, `invalidSeq`), or one whose hash is
 * malformed here (sent once, in a run of its own, so the hub can say what is wrong with it), is
 * where sending stops: the records before it go out, nothing after it (the hub could not merge it
 * as a continuation anyway), and the stop is kept in the store (`audit_stop_seq`, `audit_stop_hash`)
 * so a restart does not send it again. The chain here is left as it is. The stop holds while that
 * record is unchanged; once it is repaired or removed, sending goes on and the hub judges again.
 *
 * Runs after each append in this process (deferred to the next turn) and every `everyMs`
 * (appends by another process, and a head that changed under it).
 */
import type { Logger } from 'pino';
import { signCheckpoint, type AuditHead, type AuditRow } from '../../protocols/audit/index.js';
import { checkpointToWire, type AuditHeadNotice, type AuditSync, type Ed25519KeyFile } from '../../protocols/index.js';
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
  /**
   * With nothing new to send, a checkpoint of the head (no records) goes out this often: the
   * hub's proof that a quiet edge is in sync, not stuck (its `stale` alarm). Default 5 min.
   */
  headEveryMs?: number;
  /** Records per message, at most. */
  batchRecords: number;
  /** Bytes of record text per message, about, at most (one record always fits). */
  maxBatchBytes: number;
}

const HEX64 = /^[0-9a-f]{64}$/;
const SENT_SEQ = 'audit_sent_seq';
const SENT_HASH = 'audit_sent_hash';
const STOP_SEQ = 'audit_stop_seq';
const STOP_HASH = 'audit_stop_hash';
/** Messages per transaction: a long chain is queued over several turns. */
const MAX_MESSAGES_PER_TURN = 20;
/** Wire bytes of a record beyond its subject and body text: seq, times, kind, two hashes. */
const RECORD_OVERHEAD_BYTES = 200;

export class AuditHubSync {
  private timer: NodeJS.Timeout | undefined;
  private pending: NodeJS.Immediate | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly log: Logger;
  /** The last rewind to the hub's head: when (this clock, as checkpoints carry it), and whether for a refusal. */
  private rewound: { atMs: number; refused: boolean } | undefined;
  /** The malformed head hash last reported (once, not every pass). */
  private badHead: string | undefined;
  /** The record where sending stops, as last reported (once). */
  private stopSaid: string | undefined;
  /** When something was last queued for the hub (this clock); undefined: not since start. */
  private queuedAtMs: number | undefined;

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

  /**
   * The hub's mirrored head, answering a run it did not merge: when it is behind what was queued,
   * sends again from there. Returns whether the cursor went back.
   */
  hubHead(notice: AuditHeadNotice): boolean {
    if ((notice.invalidSeq ?? 0) > 0) return this.refusedRecord(notice, notice.invalidSeq!);
    const sent = this.sent();
    if (notice.seq >= sent.seq) return false;
    const last = this.rewound;
    if (last && notice.answersAtMs < last.atMs) return false;
    if (last?.refused && notice.refused) return false;
    const atMs = this.o.now();
    try {
      this.o.store.commit({ meta: { [SENT_SEQ]: notice.seq, [SENT_HASH]: notice.hash } });
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not move the audit sync cursor back to the hub\'s head; its next answer tries again');
      return false;
    }
    this.rewound = { atMs, refused: notice.refused };
    this.log.warn(
      { hubSeq: notice.seq, sentSeq: sent.seq, refused: notice.refused },
      notice.refused
        ? `the hub refused audit records (no or another key registered for this edge there) and holds up to record ${notice.seq}: sending again from record ${notice.seq + 1}`
        : `the hub's audit mirror holds up to record ${notice.seq}, records up to ${sent.seq} were sent: sending again from record ${notice.seq + 1}`,
    );
    this.soon();
    return true;
  }

  /**
   * The hub refused record `seq` as invalid: stop sending there, and send again from the hub's
   * head what comes before it (a run that held the bad record was not merged at all).
   */
  private refusedRecord(notice: AuditHeadNotice, seq: number): boolean {
    const record = this.o.log.rows(seq, seq)[0];
    if (!record) return false; // gone here since: the next run tells the hub what is held now
    const sent = this.sent();
    const rewind = notice.seq < sent.seq;
    try {
      this.o.store.commit({ meta: { [STOP_SEQ]: seq, [STOP_HASH]: record.hash, ...(rewind ? { [SENT_SEQ]: notice.seq, [SENT_HASH]: notice.hash } : {}) } });
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not record the audit record the hub refused; its next answer tries again');
      return false;
    }
    this.sayStopped(seq, record.hash, `the hub refused audit record ${seq} as invalid (its hash, its link to record ${seq - 1} or its text; the hub's audit alarm says which) and holds up to record ${notice.seq}`);
    this.soon();
    return rewind;
  }

  /** Where sending stops, while that record is unchanged here; a stop whose record changed is lifted. */
  private stoppedAt(): AuditHead | undefined {
    const seq = Number(this.o.store.metaValue(STOP_SEQ) ?? 0);
    if (seq <= 0) return undefined;
    const hash = String(this.o.store.metaValue(STOP_HASH) ?? '');
    if (this.o.log.rows(seq, seq)[0]?.hash === hash) return { seq, hash };
    this.o.store.commit({ meta: { [STOP_SEQ]: 0, [STOP_HASH]: '' } });
    this.stopSaid = undefined;
    this.log.warn({ seq }, `audit record ${seq}, where sending to the hub had stopped, has changed or is gone: sending again; the hub judges it`);
    return undefined;
  }

  private sayStopped(seq: number, hash: string, why: string): void {
    if (this.stopSaid === `${seq}:${hash}`) return;
    this.stopSaid = `${seq}:${hash}`;
    this.log.error({ seq }, `${why}: audit records from ${seq} on are not sent to the hub, which could not take them as a continuation of its mirror; they stay in this edge's chain (gridos audit verify --db names the broken record)`);
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
    // An empty chain is news only when something was sent: then every record was removed here.
    if (head.seq === 0 && sent.seq === 0) return 0;
    if (head.seq === sent.seq && head.hash === sent.hash) {
      // In sync: only the periodic checkpoint that says so.
      const nowMs = this.o.now();
      if (this.queuedAtMs !== undefined && nowMs - this.queuedAtMs < (this.o.headEveryMs ?? 300_000)) return 0;
      if (!HEX64.test(head.hash)) return 0;
      this.queue([this.o.draft(this.message([], head))], head);
      return 1;
    }
    if (!HEX64.test(head.hash)) {
      // Not a checkpoint anyone could sign: the head record's hash column was edited here.
      if (this.badHead !== head.hash) {
        this.badHead = head.hash;
        this.log.error({ headSeq: head.seq, sentSeq: sent.seq }, `the audit chain's head record ${head.seq} has a malformed hash (not 64 hex characters): the audit table was edited here; nothing more can be sent to the hub until it is repaired (gridos audit verify --db names the record)`);
      }
      return 0;
    }
    this.badHead = undefined;
    if (head.seq <= sent.seq) {
      this.log.error({ sentSeq: sent.seq, headSeq: head.seq }, `the audit chain's head is now record ${head.seq}, but record ${sent.seq} was already sent to the hub: records were removed or rewritten here; reporting the head to the hub`);
      this.queue([this.o.draft(this.message([], head))], head);
      return 1;
    }
    const drafts: OutboxDraft[] = [];
    let last = sent;
    let stop = this.stoppedAt();
    const stopBefore = stop;
    while (drafts.length < MAX_MESSAGES_PER_TURN && !(stop && last.seq >= stop.seq - 1)) {
      let rows = log.rowsAfter(last.seq, batchRecords).filter((r) => !stop || r.seq < stop.seq);
      const bad = rows.findIndex((r) => !HEX64.test(r.hash));
      if (bad === 0) {
        // A malformed hash cannot end a signed run: the run is the bad record(s) up to the next good one.
        const good = rows.findIndex((r) => HEX64.test(r.hash));
        stop = { seq: rows[0]!.seq, hash: rows[0]!.hash };
        if (good < 0) {
          this.sayStopped(stop.seq, stop.hash, `audit record ${stop.seq} has a malformed hash (not 64 hex characters), and no well-formed record follows it closely enough to sign a run with`);
          break;
        }
        rows = rows.slice(0, good + 1);
        this.sayStopped(stop.seq, stop.hash, `audit record ${stop.seq} has a malformed hash (not 64 hex characters): the audit table was edited here; sent to the hub once, so it can alarm`);
      } else {
        rows = cut(bad > 0 ? rows.slice(0, bad) : rows, maxBatchBytes);
      }
      if (rows.length === 0) break;
      if (drafts.length === 0 && sent.seq > 0 && rows[0]!.prevHash !== sent.hash) {
        this.log.error({ sentSeq: sent.seq, seq: rows[0]!.seq }, `audit record ${rows[0]!.seq} does not link to record ${sent.seq} as it was sent to the hub: the chain was rewritten here`);
      }
      const end = rows[rows.length - 1]!;
      drafts.push(this.o.draft(this.message(rows, end)));
      last = { seq: end.seq, hash: end.hash };
    }
    const stopMeta: Record<string, string | number> = stop && stop !== stopBefore ? { [STOP_SEQ]: stop.seq, [STOP_HASH]: stop.hash } : {};
    if (drafts.length > 0) this.queue(drafts, last, stopMeta);
    else if (stop !== stopBefore) this.o.store.commit({ meta: stopMeta });
    if (last.seq < head.seq && !stop) this.soon();
    return drafts.length;
  }

  private message(records: AuditRow[], head: AuditHead): AuditSync {
    const cp = signCheckpoint({ chainId: this.o.log.chainId, seq: head.seq, hash: head.hash, atMs: this.o.now() }, this.o.key.privateKey);
    return { edgeId: this.o.edgeId, records, checkpoint: checkpointToWire(cp, this.o.key.keyId) };
  }

  private queue(drafts: OutboxDraft[], through: AuditHead, meta: Record<string, string | number> = {}): void {
    if (drafts.length === 0) return;
    this.o.store.commit({ outbox: drafts, meta: { [SENT_SEQ]: through.seq, [SENT_HASH]: through.hash, ...meta } });
    this.queuedAtMs = this.o.now();
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

/** The leading rows whose text fits in `maxBytes` of UTF-8 (at least one). */
function cut(rows: AuditRow[], maxBytes: number): AuditRow[] {
  let bytes = 0;
  for (let i = 0; i < rows.length; i++) {
    // bytes on the wire (UTF-8), not UTF-16 code units: non-ASCII text counts up to 3 times more
    bytes += Buffer.byteLength(rows[i]!.subjectJson, 'utf8') + Buffer.byteLength(rows[i]!.bodyJson, 'utf8') + RECORD_OVERHEAD_BYTES;
    if (i > 0 && bytes > maxBytes) return rows.slice(0, i);
  }
  return rows;
}
