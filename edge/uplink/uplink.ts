/**
 * The uplink: publishes the outbox to the hub over MQTT (QoS 1, persistent session) and
 * removes a message only when the hub acknowledges its sequence number on .../cmd/ack.
 *
 * At most `inFlight` unacknowledged messages are on the wire. After a reconnect, or when the
 * oldest unacknowledged message was sent more than `ackTimeoutMs` ago (a broker may drop a
 * message nobody had subscribed to yet, while later ones get through and are acknowledged), it
 * goes back to the first unacknowledged message and sends again: delivery is at-least-once,
 * the hub removes duplicates by seq.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { commandTopic, decodeEnvelope, edgeCommandFilter, uplinkTopic, type UplinkKind } from '../../protocols/index.js';
import type { EdgeMetrics } from '../metrics.js';
import type { EdgeStore } from '../store/edge-store.js';

export interface UplinkOptions {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  siteId: string;
  edgeId: string;
  inFlight?: number;
  ackTimeoutMs?: number;
}

export class Uplink {
  private client: MqttClient | undefined;
  /** Highest seq handed to MQTT since the last rewind. */
  private cursor = 0;
  /** When each message handed to MQTT since the last rewind was sent. */
  private readonly sentAtMs = new Map<number, number>();
  private ackTimer: NodeJS.Timeout | undefined;
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
    this.log = logger.child({ component: 'uplink' });
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  start(): void {
    const { siteId, edgeId } = this.options;
    const client = mqtt.connect(this.options.url, {
      clientId: `gridos-edge-${siteId}-${edgeId}`,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      ...(this.options.username !== undefined ? { username: this.options.username } : {}),
      ...(this.options.password !== undefined ? { password: this.options.password } : {}),
    });
    this.client = client;
    client.on('connect', () => {
      this.metrics.connected.set(1);
      this.log.info({ url: this.options.url }, 'connected to hub broker');
      client.subscribe(edgeCommandFilter(siteId, edgeId), { qos: 1 });
      this.rewind('reconnect');
    });
    client.on('close', () => this.metrics.connected.set(0));
    client.on('error', (err) => this.log.warn({ err: err.message }, 'hub broker connection error'));
    client.on('message', (topic, payload) => this.onCommand(topic, payload));
    this.ackTimer = setInterval(() => this.checkAckTimeout(), Math.min(this.ackTimeoutMs, 1000));
  }

  /** Something new is in the outbox. */
  kick(): void {
    this.pump();
  }

  private pump(): void {
    const client = this.client;
    if (!client?.connected) return;
    const room = this.inFlight - this.store.unacknowledgedUpTo(this.cursor);
    if (room <= 0) return;
    for (const msg of this.store.outboxAfter(this.cursor, room)) {
      client.publish(uplinkTopic(this.options.siteId, this.options.edgeId, msg.kind as UplinkKind), msg.payload, { qos: 1 });
      this.cursor = msg.seq;
      this.sentAtMs.set(msg.seq, Date.now());
      this.metrics.published.inc();
    }
    this.metrics.outboxDepth.set(this.store.outboxDepth());
  }

  private rewind(why: 'reconnect' | 'ack_timeout'): void {
    if (this.cursor > 0) this.metrics.resends.inc({ why });
    this.cursor = 0;
    this.sentAtMs.clear();
    this.pump();
  }

  private checkAckTimeout(): void {
    if (!this.connected) return;
    const oldest = this.store.outboxAfter(0, 1)[0];
    const sentAt = oldest && oldest.seq <= this.cursor ? this.sentAtMs.get(oldest.seq) : undefined;
    if (sentAt !== undefined && Date.now() - sentAt >= this.ackTimeoutMs) {
      this.log.warn({ seq: oldest!.seq, cursor: this.cursor }, 'no acknowledgement from the hub in time; sending again from the first unacknowledged message');
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
    if (env.edgeId !== this.options.edgeId || topic !== commandTopic(this.options.siteId, this.options.edgeId, 'ack') || env.payload.kind !== 'ack') {
      this.metrics.badCommands.inc({ code: 'NOT_FOR_THIS_EDGE' });
      this.log.warn({ topic, edge: env.edgeId, kind: env.payload.kind }, 'ignoring a command that is not an ack for this edge');
      return;
    }
    const { fromSeq, toSeq } = env.payload.ack;
    const removed = this.store.acknowledge(fromSeq, toSeq);
    for (const seq of this.sentAtMs.keys()) if (seq >= fromSeq && seq <= toSeq) this.sentAtMs.delete(seq);
    this.metrics.acknowledged.inc(removed);
    this.pump();
  }

  async stop(): Promise<void> {
    clearInterval(this.ackTimer);
    await this.client?.endAsync();
  }
}
