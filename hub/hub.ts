/**
 * The hub, built by one function and started separately, so tests can call `app.inject()`
 * without sockets or run it on port 0.
 *
 *   broker (embedded aedes or external) --> ingest --> SQLite store --> HTTP API + console
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { HubConfig } from '../config/index.js';
import { approvalRoutes, Approvals, ApprovalStore, loadOrCreateDecisionKey } from './approvals/index.js';
import { AlarmAcknowledger, auditAlarmRoutes, AuditHeadAnswers, EdgeAuditMirror, HubAuditLog, loadEdgeAuditKeys, StaleMirrorWatch, type AuditAlarm } from './audit/index.js';
import { authRoutes, UserStore } from './auth/index.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker.js';
import { apiRoutes } from './http/api.js';
import { consoleRoutes } from './http/console.js';
import { consoleApiRoutes } from './http/console-api.js';
import { isOnline } from './http/console-views.js';
import { tufRoutes } from './http/tuf.js';
import { Ingest } from './ingest/ingest.js';
import { createHubMetrics, registerAuditAlarmGauge, registerEdgeGauges, type HubMetrics } from './metrics.js';
import { HubStore } from './store/hub-store.js';
import { InfluxOutput } from './timeseries/influx.js';

export interface HubDeps {
  logger: Logger;
  now?: () => number;
}

export interface HubEndpoints {
  httpUrl: string;
  brokerUrl: string;
}

/** One HTTP route of the hub (HEAD, which fastify adds to every GET, left out). */
export interface HubRoute {
  method: string;
  url: string;
}

export interface Hub {
  readonly app: FastifyInstance;
  /** Every route registered, so a test can check each one is either guarded or open on purpose. */
  readonly routes: readonly HubRoute[];
  readonly store: HubStore;
  readonly metrics: HubMetrics;
  readonly users: UserStore;
  readonly approvals: Approvals;
  /** Each edge's audit chain as synced, checked against its registered key; alarms on truncation, forks, gaps. */
  readonly auditMirror: EdgeAuditMirror;
  /** Raises and clears `stale` alarms; runs every minute (or staleAfter / 4) once started, `check()` for tests. */
  readonly staleWatch: StaleMirrorWatch;
  /** Starts the broker (when embedded), ingest and the HTTP server. */
  start(): Promise<HubEndpoints>;
  stop(): Promise<void>;
}

export async function buildHub(config: HubConfig, deps: HubDeps): Promise<Hub> {
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({ hub: config.hub.id });
  const edgeKeys = loadEdgeAuditKeys(config.audit.edgeKeys);
  const store = new HubStore(join(config.storage.dataDir, 'hub.db'));
  const metrics = createHubMetrics({ defaultMetrics: true });
  const onAlarm = (edge: string, a: AuditAlarm) => {
    metrics.auditAlarms.inc({ edge, kind: a.kind });
    log.error({ edge, kind: a.kind, code: a.code, seq: a.seq }, `audit alarm: ${a.message}`);
  };
  const auditMirror = new EdgeAuditMirror(store.sqlite(), { keys: edgeKeys, onAlarm });
  const staleWatch = new StaleMirrorWatch({
    alarms: auditMirror.alarms,
    edges: () => store.edges().map((e) => ({ id: e.id, online: isOnline(e, now()), lastSeenMs: e.lastSeenMs })),
    head: (edgeId) => auditMirror.head(edgeId),
    confirmedMs: (edgeId) => auditMirror.confirmedMs(edgeId),
    staleAfterMs: config.audit.staleAfterMs,
    now,
    onAlarm,
    logger: log.child({ component: 'audit-stale' }),
  });
  registerAuditAlarmGauge(metrics, () => auditMirror.alarms.activeCounts());
  const auditAnswers = new AuditHeadAnswers(log, now);
  store.handle('audit', (msg) => {
    if (msg.payload.kind !== 'audit') return;
    const outcome = auditMirror.apply(msg.edgeId, msg.payload.audit, msg.nowMs);
    auditAnswers.answer(msg.siteId, msg.edgeId, msg.payload.audit, outcome);
  });
  // alarms are told and edges answered only once the ingest transaction is on disk
  store.onSettled((committed) => {
    auditMirror.settled(committed);
    auditAnswers.settled(committed);
  });
  registerEdgeGauges(metrics, () => store.edges(), now);
  // The console polls every few seconds: per-request logs would drown everything else.
  const app: FastifyInstance = Fastify({
    loggerInstance: log.child({ component: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  const routes: HubRoute[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) if (method !== 'HEAD') routes.push({ method, url: r.url });
  });
  const users = new UserStore(store.sqlite());
  const audit = new HubAuditLog(store.sqlite(), { chainId: config.hub.id, table: 'hub_audit' });
  const approvalStore = new ApprovalStore(store.sqlite());
  const decisionKey = loadOrCreateDecisionKey(join(config.storage.dataDir, 'decision-key.pem'));
  const approvals = new Approvals({ store: approvalStore, key: decisionKey, audit, now, logger: log });
  await app.register(apiRoutes, { store, metrics, users, auditMirror, now });
  await app.register(authRoutes, { users, now, ...config.auth });
  await app.register(approvalRoutes, { approvals, store: approvalStore, users, key: decisionKey, now });
  const acknowledger = new AlarmAcknowledger({ db: store.sqlite(), alarms: auditMirror.alarms, audit, now });
  await app.register(auditAlarmRoutes, { acknowledger, users, now });
  await app.register(consoleApiRoutes, { store, approvals: approvalStore, users, audit, auditMirror, now });
  await app.register(consoleRoutes);
  if (config.registry) await app.register(tufRoutes, { dir: config.registry.dir });
  await app.ready();

  const influxConfig = config.timeseries.influx;
  const influx = influxConfig
    ? new InfluxOutput({ ...influxConfig, queuePath: join(config.storage.dataDir, 'influx-queue.db') }, metrics.registry, log)
    : undefined;

  let broker: EmbeddedBroker | undefined;
  let ingest: Ingest | undefined;

  return {
    app,
    routes,
    store,
    metrics,
    users,
    approvals,
    auditMirror,
    staleWatch,
    async start() {
      const b = config.broker;
      let brokerUrl: string;
      if (b.mode === 'embedded') {
        broker = await startEmbeddedBroker({ host: b.host, port: b.port }, log);
        brokerUrl = broker.url;
      } else {
        brokerUrl = b.url;
      }
      ingest = new Ingest(
        { brokerUrl, hubId: config.hub.id, now, ...(b.mode === 'external' ? { username: b.username, password: b.password } : {}) },
        store,
        metrics,
        log,
        influx,
      );
      influx?.start();
      await ingest.start();
      const connected = ingest;
      approvals.setPublisher((topic, bytes) => connected.publish(topic, bytes));
      auditAnswers.setPublisher((topic, bytes) => connected.publish(topic, bytes));
      await approvals.republishPending();
      staleWatch.start(Math.min(60_000, Math.max(1000, config.audit.staleAfterMs / 4)));
      const httpUrl = await app.listen({ host: config.http.host, port: config.http.port });
      log.info({ httpUrl, brokerUrl }, 'hub started');
      return { httpUrl, brokerUrl };
    },
    async stop() {
      staleWatch.stop();
      await app.close();
      approvals.setPublisher(undefined);
      auditAnswers.setPublisher(undefined);
      await ingest?.stop();
      await influx?.stop();
      await broker?.close();
      store.close();
      log.info('hub stopped');
    },
  };
}
