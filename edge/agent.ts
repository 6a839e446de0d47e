/**
 * The edge agent: composes sources, the pipeline, the store and the uplink from a config.
 *
 *   source --Reading[]--> ingest (tag, order, validate, quality, windows) --+
 *   source --Reading[]--> ingest ...                                       +--> batch --> store (readings, aggregates, outbox) --> uplink
 *
 * Each source's batches go through the per-reading stages on their own (so counts are per
 * source), then meet in one group commit.
 *
 * Offline is normal: the agent starts and stores whether or not the hub or a source is reachable.
 * The signed dispatch policy (policy/update/active.ts) is kept current beside it: `agent.policy`.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { filter, map, merge, Subject, tap, type Subscription } from 'rxjs';
import { tagsOf, type EdgeConfig, type SourceConfig } from '../config/index.js';
import type { Aggregate, Birth, Reading, VoltageLimits } from '../protocols/index.js';
import { AuditHubSync, loadOrCreateEdgeKey, openEdgeAudit, type EdgeAuditLog } from './audit/index.js';
import { DurableWriter } from './durable-writer.js';
import { createEdgeMetrics, registerSourceMetrics, type EdgeMetrics } from './metrics.js';
import { serveMetrics, type MetricsServer } from './metrics-server.js';
import { batchReadings } from './pipeline/batch.js';
import { FlowControl } from './pipeline/flow-control.js';
import { FLAG_NAMES, Ingest, type IngestResult, type TagRule } from './pipeline/ingest.js';
import { createSource } from './sources/registry.js';
import type { Source } from './sources/source.js';
import type { ForecastScheduler } from './forecast/scheduler.js';
import type { ActivePolicy } from './policy/update/active.js';
import type { DispatchLoop, DispatchLoopDeps, DispatchPolicyView } from './dispatch/loop.js';
import { LatestValues } from './latest-values.js';
import { EdgeStore } from './store/edge-store.js';
import { auditDraft, birthDraft, gapDraft, type DraftContext } from './uplink/drafts.js';
import { Uplink } from './uplink/uplink.js';
import { edgeRuntime } from './uplink/runtime.js';

export const AGENT_VERSION = '0.1.0';

export interface AgentDeps {
  logger: Logger;
  now?: () => number;
  /** A policy given in code (tests, a bench) that the dispatch loop uses instead of the signed `agent.policy`. */
  dispatchPolicy?: () => DispatchPolicyView | undefined;
  /** Latency probe handed to the dispatch loop (bench/dispatch.ts). */
  dispatchTrace?: DispatchLoopDeps['trace'];
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
  /** Load forecasting, when `forecast.targets` are configured. */
  readonly forecasts: ForecastScheduler | undefined;
  /** The signed dispatch policy, when `policy.source` or `policy.trustedRoot` is configured or a trust store exists. */
  readonly policy: ActivePolicy | undefined;
  /** The latest good value of each tag the pipeline stored. */
  readonly latest: LatestValues;
  /** The dispatch loop, when `dispatch.peakShaving` is configured. */
  readonly dispatch: DispatchLoop | undefined;
  /** The edge's append-only audit chain (`<dataDir>/audit.db`): policy installs and refusals, dispatch decisions. */
  readonly audit: EdgeAuditLog;
  /** Sends the audit chain to the hub's mirror with signed checkpoints (`<dataDir>/edge-key.pem`). */
  readonly auditSync: AuditHubSync;
  /** False while the outbox is full of what may not be dropped: the agent then takes no autonomous action. */
  acceptsAutonomousActions(): boolean;
  stop(): Promise<void>;
}

/** Where a tag is read from, for the birth message. */
function addressOf(src: SourceConfig, tagId: string): string {
  switch (src.kind) {
    case 'opcua':
      return src.tags.find((t) => t.id === tagId)?.nodeId ?? '';
    case 'replay':
      return `${src.file}#${src.tags.find((t) => t.id === tagId)?.column ?? ''}`;
    case 'mqtt':
      return src.topics.find((t) => t.tags.some((x) => x.id === tagId))?.filter ?? '';
    case 'sparkplug': {
      const t = src.tags.find((x) => x.id === tagId);
      return t ? `spBv1.0/${src.group} ${t.node}/${t.device ?? ''}/${t.metric}` : '';
    }
  }
}

/**
 * The voltage limits this edge enforces, for the birth message: the interlocks' band on their
 * voltage tag. The over-voltage controller has no config section yet (the agent does not run it),
 * so no curtailment trigger is reported; an edge without interlocks reports none.
 */
function voltageLimitsOf(config: EdgeConfig): VoltageLimits[] {
  const il = config.dispatch.interlocks;
  return il ? [{ tagId: il.voltageTag, interlockLowPu: il.voltageBandPu[0], interlockHighPu: il.voltageBandPu[1] }] : [];
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
  // Made on the first start, air-gapped or not: every checkpoint is signed from the first one.
  const edgeKey = loadOrCreateEdgeKey(config.storage.dataDir);
  const audit = openEdgeAudit(config.storage.dataDir, edgeId);
  // Set once the uplink runs: sends the edge's state (with its active policy) to the hub now.
  let tellHub = (): void => {};
  // The TUF client is loaded only on gateways that run a signed policy (configured, or imported from media).
  let policy: ActivePolicy | undefined;
  if (config.policy.source !== undefined || config.policy.trustedRoot !== undefined || existsSync(join(config.storage.dataDir, 'trust.db'))) {
    try {
      const { startActivePolicy } = await import('./policy/update/active.js');
      policy = startActivePolicy({ dataDir: config.storage.dataDir, edgeId, siteId, everyMs: config.policy.everyMs, source: config.policy.source, trustedRoot: config.policy.trustedRoot }, {
        logger: log,
        registry: metrics.registry,
        now,
        audit: audit.log,
        // Deferred: a change noticed inside current() must not publish from within it.
        onChange: () => setImmediate(() => tellHub()),
      });
    } catch (err) {
      audit.close();
      await metricsServer?.close();
      throw err;
    }
  }
  const ctx: DraftContext = { edgeId, siteId, now, compress: config.uplink.compress, maxBatchReadings: config.uplink.maxBatchReadings, maxBatchBytes: config.uplink.maxBatchBytes };
  const store = new EdgeStore(join(config.storage.dataDir, 'edge.db'), {
    limits: config.outbox,
    gapDraft: (gap) => gapDraft(ctx, gap),
    onDrop: (gap) => {
      metrics.droppedReadings.inc({ reason: gap.reason }, gap.readings);
      log.warn({ reason: gap.reason, readings: gap.readings, messages: gap.droppedSeqs.length, maxBytes: config.outbox.maxBytes, maxAgeMs: config.outbox.maxAgeMs }, 'dropped raw telemetry from the outbox (reported to the hub as a gap)');
    },
    now,
    cacheBytes: config.storage.cacheSize,
  });

  const { pipeline: pc } = config;
  const rules: TagRule[] = [];
  const birth: Birth = { agentVersion: AGENT_VERSION, configHash: configHash(config), startedAtMs: now(), streamId: store.streamId, tags: [], voltageLimits: voltageLimitsOf(config) };
  for (const src of config.sources) {
    for (const { tag } of tagsOf(src)) {
      rules.push({ id: tag.id, min: tag.min, max: tag.max, quality: { ...pc.quality, ...tag.quality } });
      birth.tags.push({ id: tag.id, unit: tag.unit, description: tag.description, source: `${src.kind}:${src.name} ${addressOf(src, tag.id)}`, minValue: tag.min, maxValue: tag.max });
    }
  }
  store.commit({ outbox: [birthDraft(ctx, birth)] });
  const ingest = new Ingest(rules, { latenessMs: pc.latenessMs, windowsMs: pc.windowsMs, idleCloseMs: 2_000, maxAheadMs: pc.maxClockAheadMs });
  // After a restart, pick up where the store left off: a source that sends again what was
  // already stored (a broker redelivering, an OPC UA server repeating its current values) is
  // recognised as duplicate.
  for (const [tagId, ts] of store.recentTimestamps(pc.latenessMs)) ingest.seed(tagId, ts);

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
  const auditSync = new AuditHubSync({
    edgeId,
    log: audit.log,
    key: edgeKey,
    store,
    draft: (a) => auditDraft(ctx, a),
    onQueued: () => uplink.kick(),
    now,
    logger: log,
    everyMs: config.uplink.auditSyncIntervalMs,
    headEveryMs: config.uplink.auditHeadEveryMs,
    batchRecords: config.uplink.auditBatchRecords,
    maxBatchBytes: config.uplink.maxBatchBytes,
  });
  auditSync.start();
  uplink.onAuditHead = (notice) => auditSync.hubHead(notice);

  // onnxruntime (tens of MB) is loaded only on gateways that forecast
  let forecasts: ForecastScheduler | undefined;
  if (config.forecast.targets.length > 0) {
    const { ForecastScheduler } = await import('./forecast/scheduler.js');
    forecasts = await ForecastScheduler.start(config.forecast, { store, ctx, logger: log, registry: metrics.registry, now, onCommitted: () => uplink.kick() });
  }
  const forecastModels = forecasts;
  uplink.runtime = () => edgeRuntime(policy?.current(), forecastModels?.models() ?? []);
  tellHub = () => uplink.publishState();
  tellHub();

  const latest = new LatestValues();
  // node-opcua's client for writes is loaded only on gateways that dispatch
  let dispatch: DispatchLoop | undefined;
  if (config.dispatch.peakShaving !== undefined) {
    const [{ startDispatchLoop }, { opcuaDevice }] = await Promise.all([import('./dispatch/loop.js'), import('./dispatch/device.js')]);
    try {
      dispatch = await startDispatchLoop({
        config: config.dispatch,
        edgeId,
        siteId,
        dataDir: config.storage.dataDir,
        latest,
        store,
        draftCtx: ctx,
        onOutbox: () => uplink.kick(),
        policy: deps.dispatchPolicy ?? (() => policy?.current()),
        hubReachable: () => uplink.connected,
        acceptsAutonomousActions: () => !store.overCapacity,
        device: opcuaDevice({ endpoint: config.dispatch.peakShaving.endpoint, pkiDir: join(config.storage.dataDir, 'pki'), logger: log }),
        logger: log,
        clock: now,
        audit: audit.log,
        ...(deps.dispatchTrace && { trace: deps.dispatchTrace }),
      });
    } catch (err) {
      // nothing of this agent may outlive a failed start
      await forecasts?.stop();
      auditSync.stop();
      await uplink.stop();
      store.close();
      await policy?.stop();
      audit.close();
      await metricsServer?.close();
      throw err;
    }
    const loop = dispatch;
    uplink.onDecision = (wire) => {
      loop.onDecision(wire).catch((err: unknown) => log.error({ err: err instanceof Error ? err.stack : String(err) }, 'hub decision failed'));
    };
  }

  const durable = new DurableWriter(store, ctx, metrics, log, config.storage.maxRetainedReadings);
  const flow = new FlowControl({ slowCommitMs: 1_000, minPauseMs: 250, maxPauseMs: 10_000 });
  let overCapacity = false;
  let pendingAggregates: Aggregate[] = [];
  /** Everything the sources emitted so far is durably stored (or recorded as lost): tell them. */
  const notifyStored = (): void => {
    const ok = durable.retainedReadings === 0;
    for (const s of sources) s.stored?.(ok);
  };
  const persist = (readings: readonly Reading[]): void => {
    const aggregates = pendingAggregates;
    pendingAggregates = [];
    const started = performance.now();
    if (durable.write(readings, aggregates)) {
      metrics.readingsStored.inc(durable.lastStored);
      metrics.duplicateReadings.inc({ where: 'store' }, durable.lastAttempted - durable.lastStored);
      metrics.aggregatesStored.inc(aggregates.length);
      if (durable.lastAggregates.length > 0) forecasts?.onAggregates(durable.lastAggregates);
    }
    const tookMs = performance.now() - started;
    metrics.commitSeconds.observe(tookMs / 1000);
    if (flow.onCommit(tookMs, now()) > 0 && !paused) setPaused(true);
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
  const report = (source: string, result: IngestResult): void => {
    for (const r of result.rejected) {
      metrics.readingsRejected.inc({ source, reason: r.reason });
      const key = `${r.reading.tagId}|${r.reason}`;
      if (!warnedRejects.has(key)) {
        warnedRejects.add(key);
        log.warn({ source, tag: r.reading.tagId, reason: r.reason }, `reading rejected: ${r.detail} (further rejects of this tag and reason are only counted)`);
      }
    }
    if (result.duplicates > 0) metrics.duplicateReadings.inc({ where: 'pipeline' }, result.duplicates);
    for (const flag of FLAG_NAMES) if (result.flagged[flag] > 0) metrics.readingsFlagged.inc({ source, flag }, result.flagged[flag]);
    metrics.readingsAccepted.inc({ source }, result.readings.length);
    if (result.aggregates.length > 0) pendingAggregates.push(...result.aggregates);
  };

  // A bug in a stage must cost the batch it met, counted and logged, not the agent's ingestion:
  // an exception inside the RxJS chain would end it for good.
  const processSafely = (source: string, batch: Reading[]): IngestResult => {
    try {
      return ingest.process(batch, now());
    } catch (err) {
      log.error({ source, readings: batch.length, err: err instanceof Error ? err.stack : String(err) }, 'pipeline stage failed on a batch; its readings are counted as rejected (pipeline_error)');
      return {
        readings: [],
        rejected: batch.map((reading) => ({ reading, reason: 'pipeline_error', detail: 'pipeline stage failed' })),
        duplicates: 0,
        aggregates: [],
        flagged: { OutOfRange: 0, NotFinite: 0, Stuck: 0, Spike: 0, Late: 0 },
      };
    }
  };

  const sources = config.sources.map((s) =>
    createSource(s, {
      logger: log,
      pkiDir: join(config.storage.dataDir, 'pki'),
      edgeId,
      declareTag: (rule) => ingest.declare({ id: rule.id, min: -Number.MAX_VALUE, max: Number.MAX_VALUE, quality: pc.quality }),
    }),
  );
  let paused = false;
  const setPaused = (on: boolean): void => {
    paused = on;
    metrics.sourcesPaused.set(on ? 1 : 0);
    if (on) log.warn({ resumeInMs: flow.pausedUntilMs - now() }, 'the store is falling behind: sources paused');
    else log.info('sources resumed');
    for (const s of sources) (on ? s.pause() : s.resume());
  };
  registerSourceMetrics(metrics, sources);
  // Sources that wait for the commit (MQTT holding its acknowledgements) get one at the end of the turn.
  const soon$ = new Subject<void>();
  const pipeline: Subscription = merge(
    ...sources.map((s) =>
      s.readings$.pipe(
        tap((b) => {
          metrics.readingsReceived.inc({ source: s.name }, b.length);
          if (s.stored) soon$.next();
        }),
        map((b) => processSafely(s.name, b)),
        tap((result) => report(s.name, result)),
        map((result) => result.readings),
        filter((b) => b.length > 0),
        // the dispatch loop sees a reading as it passes validation, not after the batch's flush
        // (up to uplink.flushInterval later): its latest value, and the cycle it may start
        // (dispatch.onReading), whose decision its own journal makes durable
        tap((b) => {
          if (!dispatch) return;
          latest.update(b);
          dispatch.onReadings(b);
        }),
      ),
    ),
  )
    .pipe(
      batchReadings({
        flushMs: config.uplink.flushIntervalMs,
        maxReadings: config.storage.maxCommitReadings,
        soon$,
        soonMs: config.storage.groupCommitMs,
        afterFlush: notifyStored,
      }),
    )
    .subscribe({
      next: (batch) => persist(batch),
      error: (err: unknown) => log.error({ err }, 'pipeline failed'),
    });

  const timers = [
    setInterval(() => {
      pendingAggregates.push(...ingest.flush(now()));
      // Also retries what a failing store could not take (and then lets waiting sources know).
      // (and, while the store is failing, probes it: recovery must not wait for a source to send something)
      if (pendingAggregates.length > 0 || durable.retainedReadings > 0 || durable.isFailing) {
        persist([]);
        notifyStored();
      }
      if (flow.due(now()) && paused) setPaused(false);
    }, 250),
    setInterval(() => {
      try {
        store.expire();
        if (config.storage.retentionMs > 0) store.expireReadings(now() - config.storage.retentionMs);
      } catch (err) {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'could not expire old data');
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

  // the flags say whether it runs as on a gateway (bin/gridos-edge) or with Node's memory defaults
  log.info({ sources: sources.length, tags: rules.length, dataDir: config.storage.dataDir, metrics: metricsServer?.url, waiting: store.outboxDepth(), node: process.version, nodeFlags: process.execArgv.join(' ') }, 'edge agent started');

  return {
    store,
    metrics,
    sources,
    uplink,
    forecasts,
    policy,
    latest,
    dispatch,
    audit: audit.log,
    auditSync,
    sourcesReady,
    metricsUrl: metricsServer?.url,
    acceptsAutonomousActions: () => !store.overCapacity,
    async stop() {
      for (const t of timers) clearInterval(t);
      await policy?.stop();
      await metricsServer?.close();
      await Promise.allSettled(sources.map((s) => s.stop()));
      pipeline.unsubscribe();
      pendingAggregates.push(...ingest.drain());
      if (pendingAggregates.length > 0) persist([]);
      await forecasts?.stop();
      uplink.onDecision = undefined;
      uplink.onAuditHead = undefined;
      await dispatch?.stop();
      auditSync.stop();
      await uplink.stop();
      store.close();
      audit.close();
      log.info('edge agent stopped');
    },
  };
}
