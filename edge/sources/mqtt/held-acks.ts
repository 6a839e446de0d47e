/**
 * Holds the broker's PUBACKs until what the messages carried is durably stored.
 *
 * mqtt.js delivers QoS 1 messages one at a time and sends each PUBACK as soon as its handler
 * calls back; it hands over the next message only after that. Holding the handler's callback
 * until the store commits would therefore serialise delivery behind every commit (one message
 * per fsync, a few hundred a second). Instead the handler returns at once, and only the PUBACK
 * waits here: messages keep flowing, a commit covers everything received since the last one,
 * and then their PUBACKs go out together (group commit). The broker's in-flight window
 * (mosquitto's max_inflight_messages) bounds how much is received but not yet acknowledged, so
 * a slow store slows the broker down instead of filling memory.
 *
 * This wraps MqttClient._sendPacket, which mqtt.js uses internally for every outgoing packet.
 * package.json pins mqtt to the version this was checked against, and
 * test/integration/mqtt-source.test.ts fails if a PUBACK goes out before its commit.
 */
import type { MqttClient } from 'mqtt';

interface Packet {
  cmd: string;
  messageId?: number;
}
type Send = (packet: Packet, cb?: (err?: Error) => void, cbStorePut?: () => void, noStore?: boolean) => void;

export class HeldAcks {
  private held: Packet[] = [];
  private readonly send: Send;

  constructor(client: MqttClient) {
    const internal = client as unknown as { _sendPacket: Send };
    if (typeof internal._sendPacket !== 'function') throw new Error('mqtt.js has no _sendPacket: this version cannot hold PUBACKs until the store commits');
    const send = internal._sendPacket.bind(client);
    this.send = send;
    internal._sendPacket = (packet, cb, cbStorePut, noStore) => {
      if (packet.cmd !== 'puback') return send(packet, cb, cbStorePut, noStore);
      this.held.push(packet);
      cb?.();
    };
    // The broker redelivers whatever was not acknowledged on the connection that closed.
    client.on('close', () => {
      this.held = [];
    });
  }

  get count(): number {
    return this.held.length;
  }

  /** Everything received so far is stored: acknowledge it. */
  release(): void {
    const held = this.held;
    this.held = [];
    for (const p of held) this.send(p);
  }
}
