/**
 * One MQTT session of the edge node: one mqtt.js client, connected with the session's NDEATH as
 * will and subscribed to NCMD before anything is published (Sparkplug 3.0, 5.8 and 7.1). A new
 * session is a new client: mqtt.js's own reconnect would keep the old will and replay the
 * unacknowledged DDATA of the old session after the new births. mqtt is loaded on first use, so
 * importing the simulators costs nothing.
 */
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';

export interface Session {
  readonly client: MqttClient;
  readonly bdSeq: number;
  /** Births published and the connection up: data may flow. */
  live: boolean;
  /** Closed on purpose: a close is no loss. */
  closing: boolean;
  /** QoS 1 messages awaiting PUBACK. */
  inflight: number;
  /** The publish callback for QoS 1: one function per session, not one closure per message. */
  readonly onAck: (err?: Error) => void;
}

export interface SessionOptions {
  url: string;
  clientId: string;
  bdSeq: number;
  willTopic: string;
  willPayload: Buffer;
  ncmdTopic: string;
  logger: Logger;
  onAcked(): void;
  onCommand(s: Session, payload: Buffer): void;
  /** The connection of a live session closed without closeSession. */
  onLost(s: Session): void;
}

/** Connects and subscribes to NCMD; resolves with the session, not yet live, or rejects with why it could not connect. */
export async function openSession(o: SessionOptions): Promise<Session> {
  const { default: mqtt } = await import('mqtt');
  const client = mqtt.connect(o.url, {
    clientId: o.clientId,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    will: { topic: o.willTopic, payload: o.willPayload, qos: 1, retain: false },
  });
  const s: Session = {
    client,
    bdSeq: o.bdSeq,
    live: false,
    closing: false,
    inflight: 0,
    onAck: (err) => {
      s.inflight--;
      if (!err) o.onAcked();
    },
  };
  return new Promise<Session>((resolve, reject) => {
    let subscribed = false;
    client.on('message', (_topic, payload) => o.onCommand(s, payload));
    client.on('error', (err) => {
      if (subscribed) o.logger.warn({ err }, 'mqtt error');
      else reject(err);
    });
    client.once('connect', () => {
      client.subscribe(o.ncmdTopic, { qos: 1 }, (err) => {
        if (err) return reject(err);
        subscribed = true;
        resolve(s);
      });
    });
    client.on('close', () => {
      const wasLive = s.live;
      s.live = false;
      client.end(true);
      if (!subscribed) return reject(new Error(`could not connect to ${o.url} as ${o.clientId}`));
      if (wasLive && !s.closing) o.onLost(s);
    });
  });
}

/** Publishes `death` (NDEATH) if the session is live, then DISCONNECT once every PUBACK is in, or closes the socket after `timeoutMs`. */
export async function closeSession(s: Session, death: { topic: string; payload: Buffer } | undefined, timeoutMs: number, logger: Logger): Promise<void> {
  const wasLive = s.live;
  s.closing = true;
  s.live = false;
  if (wasLive && death) {
    s.inflight++;
    s.client.publish(death.topic, death.payload, { qos: 1 }, s.onAck);
  }
  await new Promise<void>((resolve) => {
    const force = setTimeout(() => {
      logger.warn({ inflight: s.inflight }, 'PUBACKs did not arrive in time; closing the socket');
      s.client.stream?.destroy();
      resolve();
    }, timeoutMs);
    s.client.end(!wasLive, {}, () => {
      clearTimeout(force);
      resolve();
    });
  });
}
