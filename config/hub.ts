/** The hub's configuration: the YAML file's schema and its compiled form. Every key has a default. */
import { z } from 'zod';
import { duration, id, logLevel, port } from './units.js';

const embeddedBroker = z.strictObject({
  mode: z.literal('embedded'),
  host: z.string().default('127.0.0.1'),
  port: port.default(1883),
});

const externalBroker = z.strictObject({
  mode: z.literal('external'),
  url: z.string().regex(/^(mqtt|mqtts|tcp|ssl|ws|wss):\/\/\S+$/, { message: 'an MQTT URL such as mqtt://broker.example:1883' }),
  username: z.string().optional(),
  password: z.string().optional(),
});

const influx = z
  .strictObject({
    url: z.string().regex(/^https?:\/\/\S+$/, { message: 'an http(s):// URL of the InfluxDB v2 write API' }),
    org: z.string().min(1),
    bucket: z.string().min(1),
    token: z.string().min(1),
    batchMaxPoints: z.number().int().min(1).max(100_000).default(5000),
    flushInterval: duration.default(1000),
    maxQueuedPoints: z.number().int().min(1000).default(10_000_000),
  })
  .transform(({ flushInterval, ...rest }) => ({ ...rest, flushIntervalMs: flushInterval }));

/** Logins and sessions (hub/auth). */
const auth = z
  .strictObject({
    /** Failed logins in a row that lock an account. */
    maxFailedLogins: z.number().int().min(1).max(100).default(5),
    /** How long a locked account stays locked. */
    lockout: duration.default(900_000),
    /** How long a session lasts after login. */
    sessionTtl: duration.default(8 * 3_600_000),
    /** Mark the session cookie Secure (set when the hub is served over HTTPS). */
    secureCookie: z.boolean().default(false),
  })
  .transform(({ lockout, sessionTtl, ...rest }) => ({ ...rest, lockoutMs: lockout, sessionTtlMs: sessionTtl }));

export const hubConfigSchema = z.strictObject({
  hub: z.strictObject({ id: id.default('hub') }).default({ id: 'hub' }),
  http: z.strictObject({ host: z.string().default('127.0.0.1'), port: port.default(8080) }).default({ host: '127.0.0.1', port: 8080 }),
  broker: z.discriminatedUnion('mode', [embeddedBroker, externalBroker]).default({ mode: 'embedded', host: '127.0.0.1', port: 1883 }),
  storage: z.strictObject({ dataDir: z.string().min(1).default('./var/hub') }).default({ dataDir: './var/hub' }),
  log: z.strictObject({ level: logLevel.default('info') }).default({ level: 'info' }),
  /** Where else readings and aggregates go: InfluxDB (v2 write API), when configured. */
  timeseries: z.strictObject({ influx: influx.optional() }).default({}),
  auth: auth.default({ maxFailedLogins: 5, lockoutMs: 900_000, sessionTtlMs: 8 * 3_600_000, secureCookie: false }),
  /**
   * Edges' audit chains mirrored at the hub: each edge's public audit key (a PEM file, `gridos audit
   * key` at the edge prints it), by edge id. A checkpoint from an edge without one is an alarm.
   * `staleAfter`: an edge online, heard from, whose mirror has not advanced for this long (15m).
   */
  audit: z
    .strictObject({
      edgeKeys: z.record(id, z.string().min(1)).default({}),
      /** An online edge whose mirrored chain has not advanced for this long is alarmed `stale`. */
      staleAfter: duration.default(15 * 60_000),
    })
    .transform(({ staleAfter, ...rest }) => ({ ...rest, staleAfterMs: staleAfter }))
    .default({ edgeKeys: {}, staleAfterMs: 15 * 60_000 }),
  /** Serve this TUF repository (gridos keys init --repo) to edges at /tuf/ (metadata, targets, assignments), when set. */
  registry: z.strictObject({ dir: z.string().min(1) }).optional(),
});

export type HubConfigInput = z.input<typeof hubConfigSchema>;
export type HubConfig = z.output<typeof hubConfigSchema>;
export type BrokerConfig = HubConfig['broker'];
export type HubAuthConfig = HubConfig['auth'];
export type InfluxConfig = NonNullable<HubConfig['timeseries']['influx']>;
