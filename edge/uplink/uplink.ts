/**
 * The uplink: publishes the outbox to the hub over MQTT (QoS 1, persistent session, MQTT 3.1.1
 * so it works against the embedded broker) and removes a message only when the hub
 * acknowledges its sequence number on .../cmd/ack.
 *
 * Order on the wire: priority lanes first, then aggregates and telemetry shared between live
 * data and backlog (schedule.ts). At most `inFlight` unacknowledged messages are out. After a
 * reconnect, or when the oldest unacknowledged message was sent more than `ackTimeoutMs` ago
 * (a broker may drop a message nobody had subscribed to yet while later ones get through), it
 * goes back to the first unacknowledged message of each lane and sends again: delivery is
 * at-least-once, the hub removes duplicates by seq.
 *
 * Link state: `online` is published retained on .../state when connected and every
 * `statePeriodMs` (with the outbox's size and, from `runtime`, the active policy and models),
 * again at once on `publishState()` (the policy changed), and `offline` is registered as the
 * MQTT last will.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { commandTopic, decodeEnvelope, edgeCommandFilter, encodeEnvelope, envelope, uplinkTopic, type EdgeRuntime, type EdgeState, type AuditHeadNotice, type SignedDecisionWire, type UplinkKind } from '../../protocols/index.js';
import type { EdgeMetrics } from '../metrics.js';
import type { EdgeStore, OutboxMessage } from '../store/edge-store.js';
import { Lane } from '../store/lanes.js';
import { BULK_LANES, LinkShare, PRIORITY_LANES } from './schedule.js';

export interface UplinkOptions {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  siteId: string;
  edgeId: string;
  inFlight?: number;
  ackTimeoutMs?: number;
  /** Share of the link given to backlog when live data is waiting too (0..1). */
  backlogShare?: number;
  statePeriodMs?: number;
  protocolVersion?: 4 | 5;
  /** A hub decision on an escalated proposal (cmd/decision), decoded but not yet verified: the receiver's gate verifies it. */
  onDecision?: (decision: SignedDecisionWire) => void;
  sessionExpiryMs?: number;
}

const NO_LIMIT = Number.MAX_SAFE_INTEGER;

export class Uplink {
  private client: MqttClient | undefined;
  /** Per lane, the highest seq handed to MQTT since the last rewind (bulk lanes: live part). */
  private readonly cursor = new Map<Lane, number>();
  /** Per bulk lane, the highest backlog seq handed to MQTT since the last rewind. */
  private readonly backlogCursor = new Map<Lane, number>();
  /** Messages created from here on count as live. */
  private liveFromSeq = 1;
  private readonly inflight = new Map<number, number>();
  private readonly share: LinkShare;
  private timers: NodeJS.Timeout[] = [];
  private pendingAcks: { fromSeq: number; toSeq: number }[] = [];
  private ackImmediate: NodeJS.Immediate | undefined;
  private readonly inFlight: number;
  private readonly ackTimeoutMs: number;
  private readonly log: Logger;

  constructor(
    private readonly options: UplinkOptions,
    private readonly store: EdgeStore,
    private readonly metrics: EdgeMetrics,
    logger: Logger,
  ) {
    this.inFlight = options.inFlight ?? 32;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.share = new LinkShare(options.backlogShare ?? 0.5);
    this.log = logger.child({ component: 'uplink' });
  }

  /** The hub's mirrored audit head, answering a run it did not merge (cmd/audit-head): set by the agent for the audit sync. */
  onAuditHead: ((notice: AuditHeadNotice) => void) | undefined;

  /** Set by the dispatch loop once it runs (it starts after the uplink); overrides `options.onDecision`. */
  onDecision: ((decision: SignedDecisionWire) => void) | undefined;

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** What the edge runs (policy, models), set by the agent once they are up; sent with each online state. */
  runtime: (() => EdgeRuntime) | undefined;

  /** Publishes the online state now (the active policy changed); a no-op while disconnected. */
  publishState(): void {
    const client = this.client;
    if (client?.connected) client.publish(uplinkTopic(this.options.siteId, this.options.edgeId, 'state'), this.stateMessage(true, 'connected'), { qos: 1, retain: true });
  }

  private stateMessage(online: boolean, reason: string): Buffer {
    const runtime = online ? this.runtime?.() : undefined;
    const state: EdgeState = { online, reason, outbox: this.store.stats(), ...(runtime ? { runtime } : {}) };
    const env = envelope({ edgeId: this.options.edgeId, siteId: this.options.siteId, seq: 0, sentAtMs: Date.now(), payload: { kind: 'state', state } });
    return Buffer.from(encodeEnvelope(env));
  }

  start(): void {
    const { siteId, edgeId } = this.options;
    const stateTopic = uplinkTopic(siteId, edgeId, 'state');
    const client = mqtt.connect(this.options.url, {
      clientId: `gridos-edge-${siteId}-${edgeId}`,
      clean: false,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      // mqtt.js otherwise pre-builds a Buffer for every packet id (65,536 of them, ~8 MB of heap)
      // to save a 2-byte allocation per packet; on a gateway the memory matters more
      writeCache: false,
      // MQTT 3.1.1 keeps a clean=false session until the broker forgets it; MQTT 5 says how long.
      ...(this.options.protocolVersion === 5
        ? { protocolVersion: 5 as const, properties: { sessionExpiryInterval: Math.round((this.options.sessionExpiryMs ?? 7 * 86_400_000) / 1000) } }
        : { protocolVersion: 4 as const }),
      will: { topic: stateTopic, payload: this.stateMessage(false, 'connection lost'), qos: 1, retain: true },
      ...(this.options.username !== undefined ? { username: this.options.username } : {}),
      ...(this.options.password !== undefined ? { password: this.options.password } : {}),
    });
    this.client = client;
    // One warning per outage; the retries that follow are logged at debug.
    let warned = false;
    client.on('connect', () => {
      warned = false;
      this.metrics.connected.set(1);
      this.log.info({ url: this.options.url, waiting: this.store.outboxDepth() }, 'connected to hub broker');
      client.subscribe(edgeCommandFilter(siteId, edgeId), { qos: 1 });
      client.publish(stateTopic, this.stateMessage(true, 'connected'), { qos: 1, retain: true });
      this.liveFromSeq = this.store.lastSeq() + 1;
      this.rewind('reconnect');
    });
    client.on('close', () => this.metrics.connected.set(0));
    client.on('error', (err) => {
      if (warned) return this.log.debug({ err: err.message }, 'hub broker still unreachable');
      warned = true;
      this.log.warn({ err: err.message, url: this.options.url }, 'hub broker unreachable; storing and retrying every second');
    });
    client.on('message', (topic, payload) => this.onCommand(topic, payload));
    this.timers = [
      setInterval(() => this.checkAckTimeout(), Math.min(this.ackTimeoutMs, 1000)),
      setInterval(() => {
        if (client.connected) client.publish(stateTopic, this.stateMessage(true, 'connected'), { qos: 1, retain: true });
      }, this.options.statePeriodMs ?? 10_000),
    ];
  }

  /** Something new is in the outbox. */
  kick(): void {
    this.pump();
  }

  private send(msg: OutboxMessage): void {
    this.client!.publish(uplinkTopic(this.options.siteId, this.options.edgeId, msg.kind as UplinkKind), msg.payload, { qos: 1 });
    this.inflight.set(msg.seq, Date.now());
    this.metrics.published.inc();
  }

  private pump(): void {
    if (!this.client?.connected) return;
    let room = this.inFlight - this.inflight.size;
    for (const lane of PRIORITY_LANES) {
      if (room <= 0) break;
      for (const msg of this.store.outboxInLane(lane, this.cursor.get(lane) ?? 0, NO_LIMIT, room)) {
        this.send(msg);
        this.cursor.set(lane, msg.seq);
        room--;
      }
    }
    if (room > 0) {
      const live = BULK_LANES.flatMap((lane) => this.store.outboxInLane(lane, this.cursor.get(lane) ?? 0, NO_LIMIT, room));
      const backlog = BULK_LANES.flatMap((lane) => this.store.outboxInLane(lane, this.backlogCursor.get(lane) ?? 0, this.liveFromSeq, room));
      while (room > 0) {
        const which = this.share.choose(live.length > 0, backlog.length > 0);
        if (!which) break;
        const msg = (which === 'live' ? live : backlog).shift()!;
        this.send(msg);
        (which === 'live' ? this.cursor : this.backlogCursor).set(msg.lane, msg.seq);
        this.share.sent(which);
        room--;
      }
    }
    this.metrics.outboxDepth.set(this.store.outboxDepth());
  }

  private rewind(why: 'reconnect' | 'ack_timeout'): void {
    if (this.inflight.size > 0) this.metrics.resends.inc({ why });
    this.inflight.clear();
    this.cursor.clear();
    this.backlogCursor.clear();
    // Live lanes start where live data starts; backlog lanes from the beginning.
    for (const lane of BULK_LANES) this.cursor.set(lane, this.liveFromSeq - 1);
    this.share.reset();
    this.pump();
  }

  private checkAckTimeout(): void {
    if (!this.connected || this.inflight.size === 0) return;
    const oldest = this.store.oldestWaiting();
    const sentAt = oldest ? this.inflight.get(oldest.seq) : undefined;
    const stalest = sentAt ?? Math.min(...this.inflight.values());
    if (Date.now() - stalest >= this.ackTimeoutMs) {
      this.log.warn({ seq: oldest?.seq, inflight: this.inflight.size }, 'no acknowledgement from the hub in time; sending again from the first unacknowledged message');
      this.rewind('ack_timeout');
    }
  }

  private onCommand(topic: string, payload: Buffer): void {
    const decoded = decodeEnvelope(payload);
    if (!decoded.ok) {
      this.metrics.badCommands.inc({ code: decoded.error.code });
      this.log.warn({ topic, code: decoded.error.code }, decoded.error.message);
      return;
    }
    const env = decoded.value;
    const { siteId, edgeId } = this.options;
    if (env.edgeId === edgeId && env.payload.kind === 'decision' && topic === commandTopic(siteId, edgeId, 'decision')) {
      const handler = this.onDecision ?? this.options.onDecision;
      if (!handler) {
        this.metrics.badCommands.inc({ code: 'NO_DISPATCH' });
        this.log.warn({ topic }, 'ignoring a hub decision: this edge runs no dispatch loop');
        return;
      }
      handler(env.payload.decision);
      return;
    }
    if (env.edgeId === edgeId && env.payload.kind === 'auditHead' && topic === commandTopic(siteId, edgeId, 'audit-head')) {
      this.onAuditHead?.(env.payload.auditHead);
      return;
    }
    if (env.edgeId !== edgeId || topic !== commandTopic(siteId, edgeId, 'ack') || env.payload.kind !== 'ack') {
      this.metrics.badCommands.inc({ code: 'NOT_FOR_THIS_EDGE' });
      this.log.warn({ topic, edge: env.edgeId, kind: env.payload.kind }, 'ignoring a command that is neither an ack, a decision nor an audit head for this edge');
      return;
    }
    // Acknowledgements that arrive together are applied together: one transaction (one fsync)
    // for all of them, not one per range.
    this.pendingAcks.push(env.payload.ack);
    this.ackImmediate ??= setImmediate(() => this.applyAcks());
  }

  private applyAcks(): void {
    this.ackImmediate = undefined;
    const ranges = this.pendingAcks;
    this.pendingAcks = [];
    let removed: number;
    try {
      removed = this.store.acknowledgeMany(ranges);
    } catch (err) {
      // A full disk can refuse even a delete: the messages stay, and are sent (and acknowledged) again later.
      this.metrics.storeErrors.inc({ code: (err as { code?: string }).code ?? 'UNKNOWN' });
      this.log.warn({ ranges: ranges.length, err: err instanceof Error ? err.message : String(err) }, 'could not remove acknowledged messages from the outbox');
      return;
    }
    for (const seq of this.inflight.keys()) if (ranges.some((r) => seq >= r.fromSeq && seq <= r.toSeq)) this.inflight.delete(seq);
    this.metrics.acknowledged.inc(removed);
    this.pump();
  }

  /**
   * Says goodbye (retained offline state) and disconnects cleanly, so the broker does not publish
   * the last will over it. A broker that does not answer within 5 s must not hold the stop: then
   * the connection is dropped (what is in flight is still in the outbox and will be sent again).
   */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    if (this.ackImmediate) {
      clearImmediate(this.ackImmediate);
      this.applyAcks();
    }
    const client = this.client;
    if (!client) return;
    const within = <T>(p: Promise<T>, ms: number) =>
      Promise.race([p.then(() => true, () => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref())]);
    let clean = false;
    if (client.connected) {
      const said = await within(client.publishAsync(uplinkTopic(this.options.siteId, this.options.edgeId, 'state'), this.stateMessage(false, 'agent stopped'), { qos: 1, retain: true }), 5000);
      clean = said && (await within(client.endAsync(false), 2000));
    }
    if (!clean) await client.endAsync(true);
  }

}
