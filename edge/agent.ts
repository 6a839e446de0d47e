/**
 * The edge agent: composes sources, the pipeline, the store and the uplink from a config.
 *
 *   sources --Reading[]--> validate --> batch --> store (readings, aggregates, outbox) --> uplink
 *
 * Offline is normal: the agent starts and stores whether or not the hub or a source is reachable.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { filter, map, merge, tap, type Subscription } from 'rxjs';
import type { EdgeConfig } from '../config/index.js';
import type { Birth, Reading } from '../protocols/index.js';
import { DurableWriter } from './durable-writer.js';
import { createEdgeMetrics, type EdgeMetrics } from './metrics.js';
import { serveMetrics, type MetricsServer } from './metrics-server.js';
import { WindowAggregator, type Aggregate } from './pipeline/aggregate.js';
import { batchReadings } from './pipeline/batch.js';
import { validateReadings, type Rejected, type TagLimits } from './pipeline/validate.js';
import { createSource } from './sources/registry.js';
import type { Source } from './sources/source.js';
import { EdgeStore } from './store/edge-store.js';
import { birthDraft, gapDraft, type DraftContext } from './uplink/drafts.js';
import { Uplink } from './uplink/uplink.js';

export const AGENT_VERSION = '0.1.0';

export interface AgentDeps {
  logger: Logger;
  now?: () => number;
}

export interface Agent {
  readonly store: EdgeStore;
  readonly metrics: EdgeMetrics;
  readonly sources: readonly Source[];
  readonly uplink: Uplink;
  /** Resolves when every source has subscribed (rejects with the first source that failed). */
  readonly sourcesReady: Promise<void>;
  /** Where Prometheus can scrape the agent, when `metrics.port` is configured. */
  readonly metricsUrl: string | undefined;
  /** False while the outbox is full of what may not be dropped: the agent then takes no autonomous action. */
  acceptsAutonomousActions(): boolean;
  stop(): Promise<void>;
}

export function configHash(config: EdgeConfig): string {
  return createHash('sha256').update(JSON.stringify(config)).digest('hex');
}

export async function startAgent(config: EdgeConfig, deps: AgentDeps): Promise<Agent> {
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({ edge: config.edge.id, site: config.edge.site });
  const metrics = createEdgeMetrics({ edge: config.edge.id, site: config.edge.site });
  // First, so that a port already in use fails the start before anything else is running.
  let metricsServer: MetricsServer | undefined;
  if (config.metrics.port !== undefined) metricsServer = await serveMetrics(metrics.registry, config.metrics.host, config.metrics.port);
  const { id: edgeId, site: siteId } = config.edge;
  const ctx: DraftContext = { edgeId, siteId, now, compress: config.uplink.compress, maxBatchReadings: config.uplink.maxBatchReadings, maxBatchBytes: config.uplink.maxBatchBytes };
  const store = new EdgeStore(join(config.storage.dataDir, 'edge.db'), {
    limits: config.outbox,
    gapDraft: (gap) => gapDraft(ctx, gap),
    onDrop: (gap) => {
      metrics.droppedReadings.inc({ reason: gap.reason }, gap.readings);
      log.warn({ reason: gap.reason, readings: gap.readings, messages: gap.droppedSeqs.length, maxBytes: config.outbox.maxBytes, maxAgeMs: config.outbox.maxAgeMs }, 'dropped raw telemetry from the outbox (reported to the hub as a gap)');
    },
    now,
  });

  const limits = new Map<string, TagLimits>();
  const birth: Birth = { agentVersion: AGENT_VERSION, configHash: configHash(config), startedAtMs: now(), streamId: store.streamId, tags: [] };
  for (const src of config.sources) {
    for (const t of src.tags) {
      limits.set(t.id, { min: t.min, max: t.max });
      const address = 'nodeId' in t ? t.nodeId : `${src.kind === 'replay' ? src.file : ''}#${t.column}`;
      birth.tags.push({ id: t.id, unit: t.unit, description: t.description, source: `${src.kind}:${src.name} ${address}`, minValue: t.min, maxValue: t.max });
    }
  }
  store.commit({ outbox: [birthDraft(ctx, birth)] });

  const uplink = new Uplink(
    {
      url: config.hub.mqttUrl,
      username: config.hub.username,
      password: config.hub.password,
      siteId,
      edgeId,
      inFlight: config.uplink.inFlight,
      ackTimeoutMs: config.uplink.ackTimeoutMs,
      backlogShare: config.uplink.backlogShare,
      protocolVersion: config.hub.protocolVersion,
      sessionExpiryMs: config.hub.sessionExpiryMs,
    },
    store,
    metrics,
    log,
  );
  uplink.start();

  const aggregator = new WindowAggregator(config.pipeline.aggregateWindowMs, 2_000);
  const durable = new DurableWriter(store, ctx, metrics, log);
  let overCapacity = false;
  const persist = (readings: readonly Reading[], aggregates: readonly Aggregate[]): void => {
    if (durable.write(readings, aggregates)) {
      metrics.readingsStored.inc(durable.lastStored);
      metrics.duplicateReadings.inc(readings.length - durable.lastStored);
      metrics.aggregatesStored.inc(aggregates.length);
    }
    metrics.lateReadings.set(aggregator.lateReadings);
    metrics.outboxBytes.set(store.outboxBytes());
    if (store.overCapacity !== overCapacity) {
      overCapacity = store.overCapacity;
      if (overCapacity) log.error({ bytes: store.outboxBytes(), maxBytes: config.outbox.maxBytes }, 'outbox full of messages that may not be dropped: refusing autonomous actions until the hub catches up');
      else log.info('outbox back under its bound: autonomous actions allowed again');
    }
    metrics.overCapacity.set(overCapacity ? 1 : 0);
    uplink.kick();
  };

  const warnedRejects = new Set<string>();
  const onRejected = (rejected: readonly Rejected[]): void => {
    for (const r of rejected) {
      metrics.readingsRejected.inc({ reason: r.reason });
      const key = `${r.reading.tagId}|${r.reason}`;
      if (!warnedRejects.has(key)) {
        warnedRejects.add(key);
        log.warn({ tag: r.reading.tagId, reason: r.reason }, `reading rejected: ${r.detail} (further rejects of this tag and reason are only counted)`);
      }
    }
  };

  const sources = config.sources.map((s) => createSource(s, { logger: log, pkiDir: join(config.storage.dataDir, 'pki') }));
  const pipeline: Subscription = merge(
    ...sources.map((s) => s.readings$.pipe(tap((b) => metrics.readingsReceived.inc({ source: s.name }, b.length)))),
  )
    .pipe(
      map((batch) => validateReadings(batch, limits)),
      tap((v) => v.rejected.length > 0 && onRejected(v.rejected)),
      map((v) => v.accepted),
      filter((b) => b.length > 0),
      batchReadings(config.uplink.flushIntervalMs, config.storage.maxCommitReadings),
    )
    .subscribe({
      next: (batch) => persist(batch, aggregator.add(batch)),
      error: (err: unknown) => log.error({ err }, 'pipeline failed'),
    });

  const timers = [
    setInterval(() => {
      const closed = aggregator.flush(now());
      if (closed.length > 0) persist([], closed);
    }, 1000),
    setInterval(() => {
      try {
        store.expire();
      } catch (err) {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'could not expire old telemetry');
      }
    }, 10_000),
  ];

  const sourcesReady = Promise.all(
    sources.map((s) =>
      s.start().catch((err: unknown) => {
        log.error({ source: s.name, err: err instanceof Error ? err.message : String(err) }, 'source failed to start');
        throw err;
      }),
    ),
  ).then(() => undefined);
  sourcesReady.catch(() => undefined); // reported above; callers that care await it

  log.info({ sources: sources.length, tags: limits.size, dataDir: config.storage.dataDir, metrics: metricsServer?.url, waiting: store.outboxDepth() }, 'edge agent started');

  return {
    store,
    metrics,
    sources,
    uplink,
    sourcesReady,
    metricsUrl: metricsServer?.url,
    acceptsAutonomousActions: () => !store.overCapacity,
    async stop() {
      for (const t of timers) clearInterval(t);
      await metricsServer?.close();
      await Promise.allSettled(sources.map((s) => s.stop()));
      pipeline.unsubscribe();
      const rest = aggregator.drain();
      if (rest.length > 0) persist([], rest);
      await uplink.stop();
      store.close();
      log.info('edge agent stopped');
    },
  };
}
