/**
 * A simulated Sparkplug B edge node (Eclipse Sparkplug 3.0) with its devices. A session: CONNECT
 * with NDEATH(bdSeq) as will, SUBSCRIBE to NCMD, NBIRTH (seq 0), one DBIRTH per live device,
 * then DDATA at the chosen rate, `seq` + 1 per message over the whole node, wrapping at 256. A
 * clean stop publishes NDEATH and disconnects; a lost connection leaves the will to the broker
 * and, after reconnectMs, a new session begins with bdSeq + 1.
 *
 * Pacing: a timer every tickMs adds rate x elapsed to a credit of metrics and sends as many whole
 * batches as the credit holds, while fewer than maxInflight QoS 1 messages await PUBACK.
 */
import { decodePayload, REBIRTH_METRIC } from '../../protocols/sparkplug/index.js';
import { Devices, type DeviceState } from './devices.js';
import { MALFORMED_PAYLOAD, spikeRefusal, truncate } from './faults.js';
import type { SparkplugCounters, SparkplugNode } from './handle.js';
import { optionProblems, SparkplugOptionsError, type SparkplugNodeOptions } from './options.js';
import { dbirthPayload, ddeathPayload, nbirthPayload, ndeathPayload, nodeTopics } from './payloads.js';
import { closeSession, openSession, type Session } from './session.js';

export async function startSparkplugNode(options: SparkplugNodeOptions): Promise<SparkplugNode> {
  const problems = optionProblems(options);
  if (problems.length > 0) throw new SparkplugOptionsError(problems);
  const { group, node, batchSize, qos, maxInflight } = options;
  const clientId = options.clientId ?? `gridos-spb-${group}-${node}`;
  const log = options.logger.child({ component: 'sparkplug-sim', group, node });
  const topics = nodeTopics(group, node);
  const devices = new Devices(options.devices, options.metricsPerDevice, options.seed, batchSize);
  const ddataTopic = new Map(devices.list.map((d) => [d, topics.device('DDATA', d.id)]));
  const c: Omit<SparkplugCounters, 'metricsByDevice' | 'inflight'> = { messages: 0, dataMessages: 0, metrics: 0, births: 0, deaths: 0, faultyPayloads: 0, lastSeq: undefined, bdSeq: 0, sessions: 0, acked: 0, windowFullTicks: 0 };
  let session: Session | undefined;
  let seq = 0;
  let ratePerSec = options.ratePerSec;
  let creditMetrics = 0;
  let stopped = false;
  let reconnectTimer: NodeJS.Timeout | undefined;

  const nextSeq = (): number => {
    const s = seq;
    seq = (seq + 1) & 255;
    c.lastSeq = s;
    return s;
  };

  const publish = (s: Session, topic: string, payload: Buffer): void => {
    c.messages++;
    if (qos === 1) s.inflight++;
    s.client.publish(topic, payload, { qos }, qos === 1 ? s.onAck : undefined);
  };

  const dbirth = (s: Session, d: DeviceState, nowMs: number): void => {
    publish(s, topics.device('DBIRTH', d.id), dbirthPayload(nextSeq(), nowMs, devices.birthSamples(d, nowMs)));
    c.births++;
  };

  const births = (s: Session): void => {
    const nowMs = Date.now();
    seq = 0;
    publish(s, topics.nbirth, nbirthPayload(s.bdSeq, nowMs, devices.list.length, devices.list.length * options.metricsPerDevice));
    nextSeq();
    c.births++;
    for (const d of devices.list) if (d.alive) dbirth(s, d, nowMs);
    log.info({ bdSeq: s.bdSeq, devices: devices.list.filter((d) => d.alive).length }, 'births published');
  };

  let lastTickMs = performance.now();
  const tick = (): void => {
    const now = performance.now();
    // At most 100 ms of credit: after a stall the node catches up a little, never in one flood.
    creditMetrics = Math.min(creditMetrics + (ratePerSec * (now - lastTickMs)) / 1000, Math.max(batchSize, ratePerSec / 10));
    lastTickMs = now;
    const s = session;
    if (!s?.live) {
      creditMetrics = 0;
      return;
    }
    const nowMs = Date.now();
    while (creditMetrics >= batchSize) {
      if (s.inflight >= maxInflight) {
        c.windowFullTicks++;
        return;
      }
      const d = devices.nextLive();
      if (!d) {
        creditMetrics = 0;
        return;
      }
      publish(s, ddataTopic.get(d)!, devices.dataPayload(d, nowMs, nextSeq()));
      creditMetrics -= batchSize;
      c.dataMessages++;
      c.metrics += batchSize;
      d.published += batchSize;
    }
  };
  const timer = setInterval(tick, options.tickMs);

  const onCommand = (s: Session, payload: Buffer): void => {
    const decoded = decodePayload(payload);
    if (!decoded.ok) return log.warn({ err: decoded.error }, 'NCMD payload refused');
    if (s.live && decoded.value.metrics.some((m) => m.name === REBIRTH_METRIC && m.value === true)) {
      log.info('NCMD rebirth');
      births(s);
    }
  };

  const scheduleReconnect = (): void => {
    if (stopped || options.reconnectMs === 0) return;
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(() => {
      begin().catch((err: unknown) => {
        log.warn({ err }, 'reconnect failed');
        scheduleReconnect();
      });
    }, options.reconnectMs);
  };

  /** A new session: bdSeq + 1, connect, births, live. */
  async function begin(): Promise<void> {
    const bdSeq = c.sessions % 256;
    c.sessions++;
    c.bdSeq = bdSeq;
    const s = await openSession({
      url: options.url,
      clientId,
      bdSeq,
      willTopic: topics.ndeath,
      willPayload: ndeathPayload(bdSeq),
      ncmdTopic: topics.ncmd,
      logger: log,
      onAcked: () => c.acked++,
      onCommand,
      onLost: (lost) => {
        log.warn({ bdSeq: lost.bdSeq }, 'connection lost; the broker publishes the will');
        if (session === lost) scheduleReconnect();
      },
    });
    session = s;
    if (stopped) return closeSession(s, undefined, 0, log);
    births(s);
    s.live = true;
    log.info({ url: options.url, clientId, bdSeq }, 'sparkplug edge node online');
  }

  async function end(s: Session): Promise<void> {
    if (s.live) {
      c.messages++;
      c.deaths++;
    }
    await closeSession(s, { topic: topics.ndeath, payload: ndeathPayload(s.bdSeq, Date.now()) }, options.stopTimeoutMs, log);
  }

  const liveSession = (what: string): Session => {
    if (!session?.live) throw new Error(`${what}: the node is not connected`);
    return session;
  };

  try {
    await begin();
  } catch (err) {
    stopped = true;
    clearInterval(timer);
    throw err;
  }

  let stopping: Promise<void> | undefined;
  return {
    clientId,
    metrics: devices.list.flatMap((d) => d.metrics.map(({ def }) => ({ key: `${d.id}/${def.name}`, device: d.id, name: def.name, alias: def.alias, datatype: def.datatype }))),
    get connected() {
      return session?.live ?? false;
    },
    counters: () => ({ ...c, metricsByDevice: Object.fromEntries(devices.list.map((d) => [d.id, d.published])), inflight: session?.inflight ?? 0 }),
    setRate(rate) {
      if (!(Number.isFinite(rate) && rate >= 0)) throw new SparkplugOptionsError([`ratePerSec: expected metrics per second >= 0, got ${rate}`]);
      ratePerSec = rate;
    },
    stuck(key) {
      const m = devices.metric(key);
      m.stuckValue = devices.currentValue(m, Date.now());
    },
    spike(key, factor, count = 1) {
      const m = devices.metric(key);
      const refusal = spikeRefusal(m, factor, count);
      if (refusal) throw new Error(refusal);
      m.spikeFactor = factor;
      m.spikesLeft = count;
    },
    skipSeq(n = 1) {
      if (!Number.isInteger(n) || n < 1 || n > 255) throw new Error(`skipSeq: expected 1 to 255 numbers to leave out, got ${n}`);
      seq = (seq + n) & 255;
    },
    malformed(device) {
      const d = devices.device(device);
      publish(liveSession('malformed'), ddataTopic.get(d)!, MALFORMED_PAYLOAD);
      c.faultyPayloads++;
    },
    truncated(device) {
      const d = devices.device(device);
      publish(liveSession('truncated'), ddataTopic.get(d)!, truncate(devices.dataPayload(d, Date.now(), seq)));
      c.faultyPayloads++;
    },
    clearFaults() {
      for (const m of devices.allMetrics()) {
        m.stuckValue = undefined;
        m.spikesLeft = 0;
      }
    },
    killDevice(id) {
      const d = devices.device(id);
      if (!d.alive) return;
      d.alive = false;
      if (!session?.live) return;
      publish(session, topics.device('DDEATH', d.id), ddeathPayload(nextSeq(), Date.now()));
      c.deaths++;
    },
    reviveDevice(id) {
      const d = devices.device(id);
      if (d.alive) return;
      d.alive = true;
      if (session?.live) dbirth(session, d, Date.now());
    },
    rebirth() {
      births(liveSession('rebirth'));
    },
    dropConnection() {
      liveSession('dropConnection').client.stream.destroy();
    },
    async restart() {
      if (stopped) throw new Error('restart: the node was stopped');
      clearTimeout(reconnectTimer);
      if (session) await end(session);
      await begin();
    },
    stop() {
      stopping ??= (async () => {
        stopped = true;
        clearInterval(timer);
        clearTimeout(reconnectTimer);
        if (session) await end(session);
        log.info(c, 'sparkplug edge node stopped');
      })();
      return stopping;
    },
  };
}
