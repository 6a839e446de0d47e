/**
 * Ingest: subscribes to every edge's uplink on the broker (QoS 1, persistent session), decodes
 * each envelope, stores it exactly once (dedupe on edge + seq) and then acknowledges its seq to
 * the edge. A bad payload is refused with a typed reason, counted, logged once per source, and
 * ingest carries on.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import {
  HUB_UPLINK_FILTER,
  commandTopic,
  decodeEnvelope,
  encodeEnvelope,
  envelope,
  parseTopic,
  toRanges,
  type Aggregate,
  type Envelope,
  type Reading,
} from '../../protocols/index.js';
import type { HubMetrics } from '../metrics.js';
import type { HubStore, ReceiveResult } from '../store/hub-store.js';
import { RejectionLog } from './rejections.js';

/** Why ingest refused a message, beyond the protocol's own PROTO_* codes. */
export type IngestErrorCode =
  | 'HUB_INGEST_FOREIGN_TOPIC'
  | 'HUB_INGEST_TOPIC_MISMATCH'
  /** A sequenced payload (telemetry, birth, ...) without a sequence number. */
  | 'HUB_INGEST_NO_SEQ'
  /** The store failed (disk full, I/O error): the message is not acknowledged, the edge sends it again. */
  | 'HUB_INGEST_STORE_FAILED';

/** Somewhere else stored data goes once it is in the hub's store (the time-series output). */
export interface StoredDataSink {
  enqueue(batch: { edgeId: string; siteId: string; readings?: readonly Reading[]; aggregates?: readonly Aggregate[] }): void;
}

export interface IngestOptions {
  brokerUrl: string;
  username?: string | undefined;
  password?: string | undefined;
  hubId: string;
  now?: () => number;
}

/** At most this many messages share one transaction. */
const MAX_GROUP = 256;

export class Ingest {
  private client: MqttClient | undefined;
  private readonly rejections: RejectionLog;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly pendingAcks = new Map<string, { siteId: string; edgeId: string; seqs: number[] }>();
  private pendingStore: Envelope[] = [];
  private commitScheduled = false;

  constructor(
    private readonly options: IngestOptions,
    private readonly store: HubStore,
    private readonly metrics: HubMetrics,
    logger: Logger,
    private readonly sink?: StoredDataSink,
  ) {
    this.log = logger.child({ component: 'ingest' });
    this.rejections = new RejectionLog(this.log);
    this.now = options.now ?? Date.now;
  }

  /** Connects and subscribes; resolves once the subscription is granted. */
  async start(): Promise<void> {
    const client = mqtt.connect(this.options.brokerUrl, {
      clientId: `gridos-hub-${this.options.hubId}-ingest`,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 1000,
      ...(this.options.username !== undefined ? { username: this.options.username } : {}),
      ...(this.options.password !== undefined ? { password: this.options.password } : {}),
    });
    this.client = client;
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    client.on('error', (err) => this.log.warn({ err: err.message }, 'broker connection error'));
    // Subscribe on every connect: a broker that restarted without persistence has forgotten
    // our session, and with it the subscription (the connack's sessionPresent is then false).
    const subscribed = new Promise<void>((resolve, reject) => {
      client.on('connect', (connack) => {
        this.log.info({ broker: this.options.brokerUrl, sessionPresent: connack.sessionPresent }, 'ingest connected to broker');
        client.subscribe(HUB_UPLINK_FILTER, { qos: 1 }, (err) => {
          if (!err) return resolve();
          this.log.error({ err: err.message }, 'could not subscribe to the edges\' uplink');
          reject(err);
        });
      });
      client.once('error', reject);
    });
    await subscribed;
  }

  private refuse(source: string, code: IngestErrorCode | string, message: string, topic: string): void {
    this.metrics.rejected.inc({ code });
    this.rejections.refuse(source, code, message, { topic });
  }

  private onMessage(topic: string, payload: Buffer): void {
    const where = parseTopic(topic);
    if (!where || where.direction !== 'uplink') {
      this.refuse(topic, 'HUB_INGEST_FOREIGN_TOPIC', 'not a gridos uplink topic', topic);
      return;
    }
    const source = `${where.siteId}/${where.edgeId}`;
    const decoded = decodeEnvelope(payload);
    if (!decoded.ok) {
      this.refuse(source, decoded.error.code, decoded.error.message, topic);
      return;
    }
    const env = decoded.value;
    if (env.edgeId !== where.edgeId || env.siteId !== where.siteId || env.payload.kind !== where.kind) {
      this.refuse(source, 'HUB_INGEST_TOPIC_MISMATCH', `envelope says ${env.siteId}/${env.edgeId} ${env.payload.kind}, topic says ${source} ${where.kind}`, topic);
      return;
    }
    if (env.payload.kind !== 'state' && env.seq < 1) {
      this.refuse(source, 'HUB_INGEST_NO_SEQ', `a ${env.payload.kind} message needs a sequence number >= 1, got ${env.seq}`, topic);
      return;
    }
    this.rejections.recovered(source);
    if (env.payload.kind === 'state') {
      this.store.updateState(env.edgeId, env.siteId, env.payload.state, this.now());
      this.log.info({ edge: env.edgeId, online: env.payload.state.online, reason: env.payload.state.reason, waiting: env.payload.state.outbox.messages }, 'edge link state');
      return;
    }
    this.accept(env);
  }

  /**
   * Everything that arrived in this turn of the event loop is stored in one transaction (one
   * fsync) and then acknowledged: a group commit, which is what lets a backlog drain fast.
   */
  private accept(env: Envelope): void {
    this.pendingStore.push(env);
    if (this.pendingStore.length >= MAX_GROUP) this.commitPending();
    else if (!this.commitScheduled) {
      this.commitScheduled = true;
      setImmediate(() => this.commitPending());
    }
  }

  private commitPending(): void {
    this.commitScheduled = false;
    const envs = this.pendingStore;
    if (envs.length === 0) return;
    this.pendingStore = [];
    const nowMs = this.now();
    let results: ReceiveResult[];
    try {
      results = this.store.receiveMany(envs.map((env) => ({ edgeId: env.edgeId, siteId: env.siteId, seq: env.seq, nowMs, payload: env.payload })));
    } catch (e) {
      this.metrics.rejected.inc({ code: 'HUB_INGEST_STORE_FAILED' }, envs.length);
      this.log.error({ messages: envs.length, err: e instanceof Error ? e.message : String(e) }, 'could not store messages; not acknowledged, the edges will send them again');
      return;
    }
    envs.forEach((env, i) => this.afterStored(env, results[i]!));
    this.flushAcks();
  }

  private afterStored(env: Envelope, result: ReceiveResult): void {
    const p = env.payload;
    if (result.fresh) {
      this.metrics.messages.inc({ kind: p.kind });
      if (this.sink && (p.kind === 'telemetry' || p.kind === 'aggregates')) {
        try {
          this.sink.enqueue({ edgeId: env.edgeId, siteId: env.siteId, ...(p.kind === 'telemetry' ? { readings: p.readings } : { aggregates: p.aggregates }) });
        } catch (e) {
          // The hub's own store has it; the time-series copy is best effort beyond its durable queue.
          this.log.error({ edge: env.edgeId, seq: env.seq, err: e instanceof Error ? e.message : String(e) }, 'could not queue data for the time-series output');
        }
      }
      if (p.kind === 'telemetry') this.metrics.readings.inc(p.readings.length - result.duplicateReadings);
      if (result.duplicateReadings > 0) this.metrics.duplicateReadings.inc(result.duplicateReadings);
      if (p.kind === 'birth') this.log.info({ edge: env.edgeId, site: env.siteId, version: p.birth.agentVersion, tags: p.birth.tags.length }, 'edge birth');
      if (p.kind === 'gap') this.log.warn({ edge: env.edgeId, reason: p.gap.reason, readings: p.gap.readings, fromTsMs: p.gap.fromTsMs, toTsMs: p.gap.toTsMs }, 'edge reports a gap: data it had to drop');
    } else {
      this.metrics.duplicates.inc();
    }
    // Stored (now or before): acknowledge, so the edge may forget it.
    this.queueAck(env.siteId, env.edgeId, env.seq);
  }

  private queueAck(siteId: string, edgeId: string, seq: number): void {
    const key = `${siteId}/${edgeId}`;
    let pending = this.pendingAcks.get(key);
    if (!pending) {
      pending = { siteId, edgeId, seqs: [] };
      this.pendingAcks.set(key, pending);
    }
    pending.seqs.push(seq);
  }

  private flushAcks(): void {
    for (const { siteId, edgeId, seqs } of this.pendingAcks.values()) {
      for (const ack of toRanges(seqs)) {
        const env = envelope({ edgeId, siteId, seq: 0, sentAtMs: this.now(), payload: { kind: 'ack', ack } });
        this.client?.publish(commandTopic(siteId, edgeId, 'ack'), Buffer.from(encodeEnvelope(env)), { qos: 1 });
      }
    }
    this.pendingAcks.clear();
  }

  /** Publishes one hub -> edge message (QoS 1) on this connection; rejects when not connected. */
  async publish(topic: string, bytes: Uint8Array): Promise<void> {
    if (!this.client) throw new Error('ingest is not started');
    await this.client.publishAsync(topic, Buffer.from(bytes), { qos: 1 });
  }

  async stop(): Promise<void> {
    this.commitPending();
    await this.client?.endAsync(true); // unsent acks are harmless: the edges send again, the store dedupes
  }
}
