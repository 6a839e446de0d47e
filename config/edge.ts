/**
 * The edge agent's configuration: the schema of the YAML file (what a user writes) and the
 * compiled, frozen form the agent runs on (durations in ms, paths absolute).
 */
import { z } from 'zod';
import { byteSize, duration, id, logLevel, port } from './units.js';

const opcuaTag = z.strictObject({
  id,
  nodeId: z.string().min(1),
  unit: z.string().default(''),
  description: z.string().default(''),
  /** Physical range; a reading outside it is rejected by validation. */
  min: z.number().default(-Number.MAX_VALUE),
  max: z.number().default(Number.MAX_VALUE),
});

const opcuaSource = z
  .strictObject({
    kind: z.literal('opcua'),
    name: id,
    endpoint: z.string().regex(/^opc\.tcp:\/\/[^\s/]+/, { message: 'an opc.tcp:// endpoint URL' }),
    securityMode: z.enum(['None', 'Sign', 'SignAndEncrypt']).default('None'),
    securityPolicy: z.enum(['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss']).default('None'),
    samplingInterval: duration.default(1000),
    publishingInterval: duration.default(1000),
    tags: z.array(opcuaTag).min(1),
  })
  .transform(({ samplingInterval, publishingInterval, ...rest }) => ({
    ...rest,
    samplingIntervalMs: samplingInterval,
    publishingIntervalMs: publishingInterval,
  }));

const replayTag = z.strictObject({
  id,
  /** Which column of the file: `load` or `temp`. */
  column: z.enum(['load', 'temp']).default('load'),
  /** Multiplies the file's value (e.g. MW of a whole zone -> kW of one feeder). */
  scale: z.number().default(1),
  unit: z.string().default(''),
  description: z.string().default(''),
  min: z.number().default(-Number.MAX_VALUE),
  max: z.number().default(Number.MAX_VALUE),
});

/** Replays an hourly load file (`timestamp,load[,temp]`) as fast as asked: for tests, demos and benchmarks. */
const replaySource = z
  .strictObject({
    kind: z.literal('replay'),
    name: id,
    file: z.string().min(1),
    readingsPerSecond: z.number().positive().max(10_000_000).default(1000),
    batchInterval: duration.default(100),
    tags: z.array(replayTag).min(1),
  })
  .transform(({ batchInterval, ...rest }) => ({ ...rest, batchIntervalMs: batchInterval }));

const source = z.discriminatedUnion('kind', [opcuaSource, replaySource]);

export const edgeConfigSchema = z
  .strictObject({
    edge: z.strictObject({ id, site: id, name: z.string().default('') }),
    hub: z.strictObject({
      mqttUrl: z.string().regex(/^(mqtt|mqtts|tcp|ssl|ws|wss):\/\/\S+$/, { message: 'an MQTT URL such as mqtt://hub.example:1883' }),
      username: z.string().optional(),
      password: z.string().optional(),
      /** 4 = MQTT 3.1.1 (works with every broker, the embedded one included); 5 adds session expiry. */
      protocolVersion: z.union([z.literal(4), z.literal(5)]).default(4),
      /** MQTT 5 only: how long the broker keeps the session (and queued acks) while the edge is away. */
      sessionExpiry: duration.default(7 * 86_400_000),
    }).transform(({ sessionExpiry, ...hub }) => ({ ...hub, sessionExpiryMs: sessionExpiry })),
    storage: z.strictObject({
      dataDir: z.string().min(1),
      /** At most this many readings per durable transaction (one fsync); messages stay at uplink.maxBatchReadings. */
      maxCommitReadings: z.number().int().min(1).max(1_000_000).default(5000),
    }),
    sources: z.array(source).min(1),
    pipeline: z
      .strictObject({ aggregateWindow: duration.default(60_000) })
      .default({ aggregateWindow: 60_000 })
      .transform((p) => ({ aggregateWindowMs: p.aggregateWindow })),
    uplink: z
      .strictObject({
        flushInterval: duration.default(1000),
        maxBatchReadings: z.number().int().min(1).max(100_000).default(1000),
        maxBatchBytes: byteSize.default(256 * 1024),
        compress: z.boolean().default(true),
        inFlight: z.number().int().min(1).max(10_000).default(32),
        ackTimeout: duration.default(10_000),
        backlogShare: z.number().min(0).max(1).default(0.5),
      })
      .default({ flushInterval: 1000, maxBatchReadings: 1000, maxBatchBytes: 256 * 1024, compress: true, inFlight: 32, ackTimeout: 10_000, backlogShare: 0.5 })
      .transform((u) => ({
        flushIntervalMs: u.flushInterval,
        maxBatchReadings: u.maxBatchReadings,
        maxBatchBytes: u.maxBatchBytes,
        compress: u.compress,
        inFlight: u.inFlight,
        ackTimeoutMs: u.ackTimeout,
        backlogShare: u.backlogShare,
      })),
    outbox: z
      .strictObject({
        maxSize: byteSize.default(1024 ** 3),
        maxAge: duration.default(30 * 86_400_000),
        dropPolicy: z.enum(['oldest', 'newest']).default('oldest'),
      })
      .default({ maxSize: 1024 ** 3, maxAge: 30 * 86_400_000, dropPolicy: 'oldest' })
      .transform((o) => ({ maxBytes: o.maxSize, maxAgeMs: o.maxAge, dropPolicy: o.dropPolicy })),
    metrics: z.strictObject({ host: z.string().default('127.0.0.1'), port: port.optional() }).default({ host: '127.0.0.1' }),
    log: z.strictObject({ level: logLevel.default('info') }).default({ level: 'info' }),
    forecast: z.strictObject({}).default({}),
    dispatch: z.strictObject({}).default({}),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Map<string, string>();
    cfg.sources.forEach((src, s) => {
      src.tags.forEach((tag, t) => {
        const where = `sources.${s}.tags.${t}`;
        const first = seen.get(tag.id);
        if (first) ctx.addIssue({ code: 'custom', path: ['sources', s, 'tags', t, 'id'], message: `tag id '${tag.id}' is already used at ${first}` });
        else seen.set(tag.id, where);
        if (tag.min >= tag.max) ctx.addIssue({ code: 'custom', path: ['sources', s, 'tags', t, 'max'], message: `max (${tag.max}) must be greater than min (${tag.min})` });
      });
    });
  });

export type EdgeConfigInput = z.input<typeof edgeConfigSchema>;
export type EdgeConfig = z.output<typeof edgeConfigSchema>;
export type SourceConfig = EdgeConfig['sources'][number];
export type OpcuaSourceConfig = Extract<SourceConfig, { kind: 'opcua' }>;
export type ReplaySourceConfig = Extract<SourceConfig, { kind: 'replay' }>;
export type TagConfig = SourceConfig['tags'][number];
