/**
 * Tells an edge the head of the hub's mirror of its chain when a run was not merged, so it sends
 * again from there (edge/audit/sync.ts): an AuditHead on its .../cmd/audit-head, as decisions
 * travel. Answered: a run that starts beyond the head (delivered out of order, or the hub's store
 * is behind: wiped, restored) and a run refused for its key (the edge resends once, and again
 * when an early answer says the hub took a key since), and a run refused for a record the hub
 * alarmed invalid, or one that starts beyond such a record: the answer names the record
 * (`invalidSeq`), so the edge sends what comes before it and then stops, instead of sending the
 * same bad record again forever. Answers are sent once the ingest
 * transaction that judged the run committed (`settled`), one per edge and transaction, the latest;
 * a transaction rolled back answers nothing (its messages come again).
 * Losing one is harmless: the edge's next run is answered again.
 */
import type { Logger } from 'pino';
import { commandTopic, encodeEnvelope, envelope, type AuditHeadNotice, type AuditSync } from '../../protocols/index.js';
import { RECORD_INVALID_CODES } from './judge.js';
import type { MirrorOutcome } from './mirror.js';

export type AuditHeadPublisher = (topic: string, bytes: Uint8Array) => Promise<void>;

export class AuditHeadAnswers {
  private publisher: AuditHeadPublisher | undefined;
  private readonly pending = new Map<string, { siteId: string; notice: AuditHeadNotice }>();
  private readonly log: Logger;

  constructor(
    logger: Logger,
    private readonly now: () => number,
  ) {
    this.log = logger.child({ component: 'audit-answers' });
  }

  /** Where answers go (the ingest connection); undefined while the hub is stopped. */
  setPublisher(publisher: AuditHeadPublisher | undefined): void {
    this.publisher = publisher;
  }

  /** Answers `sync` from `edgeId` when the mirror did not merge it (see above); otherwise nothing. */
  answer(siteId: string, edgeId: string, sync: AuditSync, outcome: MirrorOutcome): void {
    const invalidSeq = invalidRecordOf(outcome);
    const refused = (outcome.status === 'alarm' && outcome.alarm.kind === 'key') || invalidSeq > 0;
    if (outcome.status !== 'early' && !refused) return;
    const notice: AuditHeadNotice = { edgeId, seq: outcome.head.seq, hash: outcome.head.hash, answersAtMs: sync.checkpoint.atMs, refused, invalidSeq };
    const before = this.pending.get(edgeId);
    if (!before || before.notice.answersAtMs <= notice.answersAtMs) this.pending.set(edgeId, { siteId, notice });
  }

  /** The ingest transaction settled: the answers go out if it committed, else they are forgotten. */
  settled(committed: boolean): void {
    const answers = [...this.pending.values()];
    this.pending.clear();
    const publish = this.publisher;
    if (!committed || !publish) return;
    for (const { siteId, notice } of answers) {
      const env = envelope({ edgeId: notice.edgeId, siteId, seq: 0, sentAtMs: this.now(), payload: { kind: 'auditHead', auditHead: notice } });
      publish(commandTopic(siteId, notice.edgeId, 'audit-head'), encodeEnvelope(env)).catch((err: unknown) =>
        this.log.warn({ edge: notice.edgeId, err: err instanceof Error ? err.message : String(err) }, 'could not tell an edge the audit mirror head; its next run is answered again'),
      );
      this.log.info({ edge: notice.edgeId, head: notice.seq, refused: notice.refused, invalidSeq: notice.invalidSeq }, 'audit run not merged: told the edge the mirror head');
    }
  }
}

/** The record beyond the head that the hub refused as invalid, which the outcome is about; 0 if none. */
function invalidRecordOf(outcome: MirrorOutcome): number {
  if (outcome.status === 'blocked') return outcome.invalidSeq;
  if (outcome.status !== 'alarm' || !RECORD_INVALID_CODES.includes(outcome.alarm.code)) return 0;
  return outcome.alarm.seq > outcome.head.seq ? outcome.alarm.seq : 0;
}
