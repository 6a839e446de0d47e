/**
 * MQTT source: plain topics with JSON (kind `mqtt`) or Sparkplug B (kind `sparkplug`).
 *
 * Subscribes at QoS 1 on a persistent session (fixed client id, clean=false), so the broker
 * keeps what arrives while the edge is away, and acknowledges each message only once its
 * readings are committed to the local store (held-acks.ts): a crash loses nothing, a restart
 * gets the rest redelivered and the pipeline drops the duplicates.
 *
 * Emits: the readings of each message as one batch (a Sparkplug DATA message of 100 metrics is
 * one emission of 100 readings).
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { Subject } from 'rxjs';
import type { MqttSourceConfig, SparkplugSourceConfig } from '../../../config/index.js';
import type { Reading } from '../../../protocols/index.js';
import { DataType, REBIRTH_METRIC, decodePayload, encodePayload, parseSparkplugTopic, sparkplugTopic } from '../../../protocols/sparkplug/index.js';
import type { Source, SourceState, SourceStats } from '../source.js';
import { HeldAcks } from './held-acks.js';
import { readJsonMessage } from './json-mapping.js';
import { SparkplugSession, type SparkplugTagRule } from './sparkplug-session.js';

export interface MqttSourceDeps {
  logger: Logger;
  /** Makes the default client id unique per edge. */
  edgeId?: string;
  /** Tells the pipeline about a tag a Sparkplug birth introduced (discovery on). */
  declareTag?(rule: SparkplugTagRule): void;
  now?: () => number;
}

export class MqttSource implements Source {
  readonly kind: 'mqtt' | 'sparkplug';
  readonly name: string;
  private readonly subject = new Subject<Reading[]>();
  readonly readings$ = this.subject.asObservable();
  private _state: SourceState = 'idle';
  private client: MqttClient | undefined;
  private acks: HeldAcks | undefined;
  private paused = false;
  private lastArrivalMs = 0;
  private everConnected = false;
  private readonly counts = { reconnects: 0, rejected: {} as Record<string, number>, messages: 0, messagesRefused: 0 };
  private readonly warned = new Set<string>();
  private readonly session: SparkplugSession | undefined;
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(
    private readonly config: MqttSourceConfig | SparkplugSourceConfig,
    private readonly deps: MqttSourceDeps,
  ) {
    this.kind = config.kind;
    this.name = config.name;
    this.log = deps.logger.child({ source: config.name, kind: config.kind });
    this.now = deps.now ?? Date.now;
    if (config.kind === 'sparkplug') {
      this.session = new SparkplugSession(config.tags, { discover: config.discover, rebirthIntervalMs: 5_000 });
    }
  }

  get state(): SourceState {
    return this._state;
  }

  private filters(): string[] {
    const c = this.config;
    if (c.kind === 'mqtt') return c.topics.map((t) => t.filter);
    return [`spBv1.0/${c.group}/+/+`, `spBv1.0/${c.group}/+/+/+`];
  }

  async start(): Promise<void> {
    this._state = 'connecting';
    const c = this.config;
    const client = mqtt.connect(c.url, {
      clientId: c.clientId ?? `gridos-${this.deps.edgeId ?? 'edge'}-${c.name}`.slice(0, 64),
      username: c.username,
      password: c.password,
      clean: false,
      reconnectPeriod: 1_000,
      connectTimeout: 10_000,
      resubscribe: true,
      // mqtt.js otherwise pre-builds a Buffer for every packet id (65,536 of them, ~8 MB of heap)
      // to save a 2-byte allocation per packet; on a gateway the memory matters more
      writeCache: false,
    });
    this.client = client;
    if (c.qos === 1) this.acks = new HeldAcks(client);
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    client.on('connect', (connack) => {
      if (this.everConnected) {
        this.counts.reconnects++;
        this.log.info('broker connection re-established');
      }
      this.everConnected = true;
      this._state = 'connected';
      // A persistent session the broker still had keeps its subscriptions; a new one needs them.
      if (!connack.sessionPresent) client.subscribe(this.filters(), { qos: c.qos }, (err) => err && this.log.error({ err: err.message }, 'subscribe failed'));
    });
    client.on('close', () => {
      if (this._state === 'connected') this.log.warn('broker connection lost; reconnecting');
      if (this._state !== 'stopped') this._state = 'reconnecting';
    });
    client.on('error', (err) => this.warnOnce(`error:${err.message}`, { err: err.message }, 'MQTT client error'));
    await new Promise<void>((resolve, reject) => {
      const onConnect = () => {
        client.off('error', onError);
        client.subscribe(this.filters(), { qos: c.qos }, (err) => (err ? reject(err) : resolve()));
      };
      const onError = (err: Error) => {
        // Not fatal: the client keeps retrying, like every later outage. Start waits for the first connection.
        this.log.warn({ err: err.message, url: c.url }, 'broker not reachable yet; retrying');
      };
      client.once('connect', onConnect);
      client.on('error', onError);
    });
    this.log.info({ url: c.url, filters: this.filters(), qos: c.qos }, 'MQTT source subscribed');
  }

  private onMessage(topic: string, payload: Buffer): void {
    this.counts.messages++;
    const readings = this.read(topic, payload);
    if (readings.refused) this.counts.messagesRefused++;
    // Emitted even when empty: a message with nothing to store still has its acknowledgement
    // held (PUBACKs go out in the order the messages came), released with the next commit.
    if (readings.length > 0 || this.acks) this.subject.next(readings);
  }

  /** The readings of one message; `refused` when it gave none and a reason was counted. */
  private read(topic: string, payload: Buffer): Reading[] & { refused?: boolean } {
    const now = this.now();
    const refused = (reason: string, detail: string): Reading[] & { refused?: boolean } => {
      this.count(reason, 1, detail);
      return Object.assign([], { refused: true });
    };
    let readings: Reading[];
    let reasons = 0;
    if (this.session) {
      const t = parseSparkplugTopic(topic);
      if (!t) return refused('not_sparkplug_topic', `${topic}: not a Sparkplug B topic of group ${(this.config as SparkplugSourceConfig).group}`);
      const decoded = decodePayload(payload);
      if (!decoded.ok) return refused('malformed_payload', `${topic}: ${decoded.error.message}`);
      const out = this.session.handle(t, decoded.value, now);
      for (const r of out.rejected) this.count(r.reason, r.count, r.detail);
      reasons = out.rejected.length;
      for (const d of out.discovered) this.deps.declareTag?.(d);
      if (out.rebirth !== undefined) this.requestRebirth(out.rebirth);
      readings = out.readings;
    } else {
      // Messages without a timestamp of their own are stamped on arrival, one ms apart at least:
      // two in the same millisecond are two readings, not a duplicate.
      const arrival = Math.max(now, this.lastArrivalMs + 1);
      this.lastArrivalMs = arrival;
      const out = readJsonMessage((this.config as MqttSourceConfig).topics, topic, payload, arrival);
      for (const r of out.rejected) this.count(r.reason, 1, r.detail);
      reasons = out.rejected.length;
      readings = out.readings;
    }
    if (readings.length > 0) return readings;
    // A message that is valid and carries nothing to read (a death, a birth of unmapped metrics,
    // a command) is not refused; one that carried metrics nobody could read is.
    return reasons > 0 ? Object.assign([], { refused: true }) : [];
  }

  private requestRebirth(node: string): void {
    const c = this.config as SparkplugSourceConfig;
    if (!c.rebirth) return;
    const topic = sparkplugTopic({ group: c.group, type: 'NCMD', node });
    this.log.info({ node }, 'asking the Sparkplug node to publish its births again');
    this.client?.publish(topic, Buffer.from(encodePayload({ timestampMs: this.now(), metrics: [{ name: REBIRTH_METRIC, datatype: DataType.Boolean, value: true }] })), { qos: 0 });
  }

  private count(reason: string, n: number, detail: string): void {
    this.counts.rejected[reason] = (this.counts.rejected[reason] ?? 0) + n;
    this.warnOnce(reason, { reason, detail }, 'message refused (further ones for this reason are only counted)');
  }

  private warnOnce(key: string, fields: object, msg: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log.warn(fields, msg);
  }

  /**
   * Everything emitted so far is committed (ok), or some of it waits in memory for a store that
   * cannot write (not ok): then nothing is acknowledged, and the broker stops sending once its
   * in-flight window is full.
   */
  stored(ok: boolean): void {
    if (ok && !this.paused) this.acks?.release();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.acks?.release();
  }

  stats(): SourceStats {
    return { reconnects: this.counts.reconnects, rejected: { ...this.counts.rejected }, messages: this.counts.messages, messagesRefused: this.counts.messagesRefused };
  }

  async stop(): Promise<void> {
    if (this._state === 'stopped') return;
    this._state = 'stopped';
    await this.client?.endAsync(true).catch(() => undefined);
    this.subject.complete();
  }
}
