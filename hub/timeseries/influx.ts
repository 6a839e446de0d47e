/**
 * Time-series output: the hub also writes every stored reading and aggregate to InfluxDB through
 * @influxdata/influxdb-client (v2 write API). Points first go into a durable queue (its own
 * SQLite file), so an InfluxDB outage or a hub restart loses nothing; a flush loop sends them in
 * batches and deletes them only once the server accepted them, retrying with exponential backoff.
 * A batch the server refuses as malformed (HTTP 400/422) is dropped, counted and logged, so one
 * bad point cannot block the queue forever.
 *
 * Points: measurement `gridos_reading` (fields value, quality) and `gridos_aggregate` (mean, min,
 * max, last, count), tags edge, site, tag (and window for aggregates), timestamps in ms.
 */
import { HttpError, InfluxDB, Point, type WriteApi } from '@influxdata/influxdb-client';
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Aggregate, Reading } from '../../protocols/index.js';

export interface InfluxOutputOptions {
  url: string;
  org: string;
  bucket: string;
  token: string;
  /** SQLite file of the durable queue. */
  queuePath: string;
  batchMaxPoints?: number;
  flushIntervalMs?: number;
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Beyond this many queued points the oldest are dropped (counted and logged, never silently). */
  maxQueuedPoints?: number;
}

export interface InfluxBatch {
  edgeId: string;
  siteId: string;
  readings?: readonly Reading[];
  aggregates?: readonly Aggregate[];
}

export class InfluxOutput {
  private readonly db: Database.Database;
  private readonly s;
  private readonly writeApi: WriteApi;
  private readonly log: Logger;
  private readonly m;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private retryMs = 0;
  private stopped = true;
  private readonly batchMax: number;
  private readonly maxQueued: number;

  constructor(
    private readonly options: InfluxOutputOptions,
    registry: Registry,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'influx' });
    this.batchMax = options.batchMaxPoints ?? 5000;
    this.maxQueued = options.maxQueuedPoints ?? 10_000_000;
    mkdirSync(dirname(options.queuePath), { recursive: true });
    this.db = new Database(options.queuePath);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec('CREATE TABLE IF NOT EXISTS queue (id INTEGER PRIMARY KEY AUTOINCREMENT, line TEXT NOT NULL)');
    this.s = {
      push: this.db.prepare('INSERT INTO queue (line) VALUES (?)'),
      head: this.db.prepare('SELECT id, line FROM queue ORDER BY id LIMIT ?'),
      ack: this.db.prepare('DELETE FROM queue WHERE id <= ?'),
      count: this.db.prepare('SELECT COUNT(*) FROM queue').pluck(),
      trim: this.db.prepare('DELETE FROM queue WHERE id IN (SELECT id FROM queue ORDER BY id LIMIT ?)'),
    };
    // Our queue does the retrying: the client must neither retry nor buffer on its own.
    this.writeApi = new InfluxDB({ url: options.url, token: options.token, timeout: 10_000 }).getWriteApi(options.org, options.bucket, 'ms', {
      maxRetries: 0,
      batchSize: this.batchMax + 1,
      flushInterval: 0,
      writeFailed: (error) => Promise.reject(error),
    });
    const registers = [registry];
    const queuedPoints = () => this.queuedPoints();
    this.m = {
      written: new Counter({ name: 'gridos_hub_influx_points_written_total', help: 'Points InfluxDB accepted', registers }),
      failures: new Counter({ name: 'gridos_hub_influx_write_failures_total', help: 'Failed writes to InfluxDB, by reason (they are retried)', labelNames: ['reason'] as const, registers }),
      dropped: new Counter({ name: 'gridos_hub_influx_points_dropped_total', help: 'Points given up on, by reason', labelNames: ['reason'] as const, registers }),
      queued: new Gauge({
        name: 'gridos_hub_influx_points_queued',
        help: 'Points waiting in the durable queue',
        registers,
        collect() {
          this.set(queuedPoints());
        },
      }),
    };
  }

  /** Durably enqueues the points of one message (one transaction). */
  enqueue(batch: InfluxBatch): void {
    const lines: string[] = [];
    for (const r of batch.readings ?? []) {
      const line = new Point('gridos_reading').tag('edge', batch.edgeId).tag('site', batch.siteId).tag('tag', r.tagId).floatField('value', r.value).intField('quality', r.quality).timestamp(r.tsMs).toLineProtocol(this.writeApi);
      if (line) lines.push(line);
    }
    for (const a of batch.aggregates ?? []) {
      const line = new Point('gridos_aggregate')
        .tag('edge', batch.edgeId)
        .tag('site', batch.siteId)
        .tag('tag', a.tagId)
        .tag('window', `${a.windowMs / 1000}s`)
        .floatField('mean', a.mean)
        .floatField('min', a.min)
        .floatField('max', a.max)
        .floatField('last', a.last)
        .intField('count', a.count)
        .timestamp(a.windowStartMs)
        .toLineProtocol(this.writeApi);
      if (line) lines.push(line);
    }
    if (lines.length === 0) return;
    this.db.transaction(() => {
      for (const line of lines) this.s.push.run(line);
    })();
    const over = this.queuedPoints() - this.maxQueued;
    if (over > 0) {
      this.s.trim.run(over);
      this.m.dropped.inc({ reason: 'queue_full' }, over);
      this.log.error({ dropped: over, maxQueuedPoints: this.maxQueued }, 'InfluxDB queue full: dropped the oldest points');
    }
    if (!this.stopped && this.retryMs === 0 && this.queuedPoints() >= this.batchMax) this.schedule(0);
  }

  queuedPoints(): number {
    return this.s.count.get() as number;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.flushing ??= this.flushOnce().finally(() => {
        this.flushing = undefined;
        this.schedule(this.retryMs > 0 ? this.retryMs : this.queuedPoints() > 0 ? 0 : (this.options.flushIntervalMs ?? 1000));
      });
    }, delayMs);
  }

  /** Sends one batch from the head of the queue; on failure, backs off. */
  private async flushOnce(): Promise<void> {
    const rows = this.s.head.all(this.batchMax) as { id: number; line: string }[];
    if (rows.length === 0) return;
    const lastId = rows[rows.length - 1]!.id;
    try {
      this.writeApi.writeRecords(rows.map((r) => r.line));
      await this.writeApi.flush();
      this.s.ack.run(lastId);
      this.m.written.inc(rows.length);
      if (this.retryMs > 0) this.log.info({ queued: this.queuedPoints() }, 'InfluxDB reachable again; sending the queue');
      this.retryMs = 0;
    } catch (err) {
      const status = err instanceof HttpError ? err.statusCode : undefined;
      if (status === 400 || status === 422) {
        this.s.ack.run(lastId);
        this.m.dropped.inc({ reason: 'rejected_by_server' }, rows.length);
        this.log.error({ status, points: rows.length, err: (err as Error).message }, 'InfluxDB refused a batch as malformed; dropped it');
        return;
      }
      const reason = status !== undefined ? `http_${status}` : 'unreachable';
      this.m.failures.inc({ reason });
      const first = this.retryMs === 0;
      this.retryMs = Math.min(this.options.retryMaxMs ?? 30_000, first ? (this.options.retryInitialMs ?? 500) : this.retryMs * 2);
      if (first) this.log.warn({ reason, err: (err as Error).message, queued: this.queuedPoints() }, 'cannot write to InfluxDB; points stay queued and are retried with backoff');
    }
  }

  /** Flushes what it can within about 2 s, then closes; what is left stays queued for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.flushing;
    const deadline = Date.now() + 2000;
    while (this.retryMs === 0 && this.queuedPoints() > 0 && Date.now() < deadline) await this.flushOnce();
    await this.writeApi.close().catch(() => undefined);
    this.db.close();
  }
}
