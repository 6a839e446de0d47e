/**
 * The edge agent's configuration: the schema of the YAML file (what a user writes) and the
 * compiled, frozen form the agent runs on (durations in ms, paths absolute).
 */
import { z } from 'zod';
import { byteSize, duration, energyKwh, id, logLevel, percent, perUnit, port, powerKw } from './units.js';

/** Report a value only when it moved this much: `absolute` in the tag's unit, `percent` of its EU range. */
const opcuaDeadband = z
  .strictObject({ type: z.enum(['none', 'absolute', 'percent']), value: z.number().min(0).default(0) })
  .refine((d) => d.type !== 'percent' || d.value <= 100, { path: ['value'], message: 'expected a percent deadband from 0 to 100' });

/** Sensor checks (edge/pipeline/quality.ts); 0 turns a check off. Set for all tags in `pipeline.quality`, per tag here. */
const qualityChecks = z.strictObject({
  /** Flag a value repeated this many samples in a row (a frozen sensor). */
  stuckSamples: z.number().int().min(0).optional(),
  /** Flag a value further than this many standard deviations from the recent mean. */
  spikeSigma: z.number().min(0).optional(),
  /** Readings that build the mean before spikes are judged (and the averaging span after). */
  spikeWarmup: z.number().int().min(2).optional(),
});

/** What every tag says about itself, whatever its source. */
const measured = {
  unit: z.string().default(''),
  description: z.string().default(''),
  /** Physical range; a reading outside it is stored flagged OUT_OF_RANGE and left out of aggregates. */
  min: z.number().default(-Number.MAX_VALUE),
  max: z.number().default(Number.MAX_VALUE),
  quality: qualityChecks.optional(),
};

const opcuaTag = z.strictObject({
  id,
  nodeId: z.string().min(1),
  unit: z.string().default(''),
  description: z.string().default(''),
  /** Physical range; a reading outside it is rejected by validation. */
  min: z.number().default(-Number.MAX_VALUE),
  max: z.number().default(Number.MAX_VALUE),
  /** Overrides the source's deadband for this tag. */
  deadband: opcuaDeadband.optional(),
  quality: qualityChecks.optional(),
});

const opcuaSource = z
  .strictObject({
    kind: z.literal('opcua'),
    name: id,
    endpoint: z.string().regex(/^opc\.tcp:\/\/[^\s/]+/, { message: 'an opc.tcp:// endpoint URL' }),
    securityMode: z.enum(['None', 'Sign', 'SignAndEncrypt']).default('None'),
    securityPolicy: z.enum(['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss']).default('None'),
    /** The client's own certificate and key (PEM); without them one is created under the agent's pki folder. */
    certificateFile: z.string().min(1).optional(),
    privateKeyFile: z.string().min(1).optional(),
    /** User identity for the session; anonymous without them. */
    username: z.string().min(1).optional(),
    password: z.string().optional(),
    samplingInterval: duration.default(1000),
    publishingInterval: duration.default(1000),
    /** Values the server keeps per monitored item between publishes (more ride out a slow link). */
    queueSize: z.number().int().min(1).max(10_000).default(10),
    deadband: opcuaDeadband.default({ type: 'none', value: 0 }),
    /** Backoff between attempts to get the link back: starts at initialDelay, doubles up to maxDelay. */
    reconnect: z
      .strictObject({ initialDelay: duration.default(500), maxDelay: duration.default(10_000) })
      .default({ initialDelay: 500, maxDelay: 10_000 }),
    tags: z.array(opcuaTag).min(1),
  })
  .superRefine((src, ctx) => {
    const problem = (path: string[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (src.securityMode !== 'None' && src.securityPolicy === 'None') problem(['securityPolicy'], `expected a security policy such as Basic256Sha256 with securityMode ${src.securityMode}`);
    if (src.securityMode === 'None' && src.securityPolicy !== 'None') problem(['securityMode'], `expected Sign or SignAndEncrypt with securityPolicy ${src.securityPolicy}`);
    if (Boolean(src.certificateFile) !== Boolean(src.privateKeyFile)) problem([src.certificateFile ? 'privateKeyFile' : 'certificateFile'], 'expected certificateFile and privateKeyFile together');
    if ((src.username === undefined) !== (src.password === undefined)) problem([src.username === undefined ? 'username' : 'password'], 'expected username and password together');
    if (src.reconnect.initialDelay < 1) problem(['reconnect', 'initialDelay'], 'expected a delay of at least 1ms');
    if (src.reconnect.maxDelay < src.reconnect.initialDelay) problem(['reconnect', 'maxDelay'], `expected at least initialDelay (${src.reconnect.initialDelay} ms)`);
  })
  .transform(({ samplingInterval, publishingInterval, reconnect, ...rest }) => ({
    ...rest,
    samplingIntervalMs: samplingInterval,
    publishingIntervalMs: publishingInterval,
    reconnect: { initialDelayMs: reconnect.initialDelay, maxDelayMs: reconnect.maxDelay },
  }));

const replayTag = z.strictObject({
  id,
  /** Which column of the file: `load` or `temp`. */
  column: z.enum(['load', 'temp']).default('load'),
  /** Multiplies the file's value (e.g. MW of a whole zone -> kW of one feeder). */
  scale: z.number().default(1),
  ...measured,
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

const mqttUrl = z.string().regex(/^(mqtt|mqtts|tcp|ssl|ws|wss):\/\/\S+$/, { message: 'an MQTT URL such as mqtt://broker.example:1883' });

/** How a source reaches its MQTT broker (the substation's, not necessarily the hub's). */
const brokerFields = {
  url: mqttUrl,
  clientId: z.string().min(1).max(64).optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  /** 1: the broker redelivers what the edge has not stored (acknowledged only after the commit). 0: best effort. */
  qos: z.union([z.literal(0), z.literal(1)]).default(1),
};

const jsonPath = z.string().regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, { message: 'a dotted JSON path such as `data.power` or `values.0`' });

const mqttTag = z.strictObject({
  id,
  /** Where the value is in the JSON message; omit when the whole message is the number. */
  path: jsonPath.optional(),
  /** reading = value x scale + offset (e.g. W -> kW with scale 0.001). */
  scale: z.number().default(1),
  offset: z.number().default(0),
  ...measured,
});

/** Plain MQTT: JSON (or bare number) messages on topics, mapped to tags. */
const mqttSource = z.strictObject({
  kind: z.literal('mqtt'),
  name: id,
  ...brokerFields,
  topics: z
    .array(
      z.strictObject({
        /** An MQTT topic filter; `+` and `#` are allowed. */
        filter: z.string().min(1).refine((f) => !/#./.test(f) && f.split('/').every((l) => l === '+' || l === '#' || !/[+#]/.test(l)), { message: 'an MQTT topic filter (`+` for one level, `#` only at the end)' }),
        /** Where the source timestamp is (ms since the epoch, or an ISO 8601 string); the arrival time without it. */
        timestampPath: jsonPath.optional(),
        tags: z.array(mqttTag).min(1),
      }),
    )
    .min(1),
});

const sparkplugTag = z.strictObject({
  id,
  /** The Sparkplug edge node, and the device (absent for a metric of the node itself). */
  node: z.string().min(1),
  device: z.string().min(1).optional(),
  /** The metric's name as its birth announces it. */
  metric: z.string().min(1),
  scale: z.number().default(1),
  offset: z.number().default(0),
  ...measured,
});

/** Sparkplug B over MQTT: births, data and deaths of edge nodes and their devices in one group. */
const sparkplugSource = z.strictObject({
  kind: z.literal('sparkplug'),
  name: id,
  ...brokerFields,
  group: z.string().min(1).regex(/^[^/+#]+$/, { message: 'a Sparkplug group id (no `/`, `+` or `#`)' }),
  /** Ask a node to publish its births again (NCMD Node Control/Rebirth) on a sequence gap or data before birth. */
  rebirth: z.boolean().default(true),
  /** Take every metric a birth announces as a tag, named `<node>.<device>.<metric>`; listed tags keep their settings. */
  discover: z.boolean().default(false),
  tags: z.array(sparkplugTag).default([]),
});

const source = z.discriminatedUnion('kind', [opcuaSource, replaySource, mqttSource, sparkplugSource]);

const naiveLocalTime = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/, { message: "a local time 'YYYY-MM-DDTHH:MM'" });

/** A load forecast the edge makes on a cadence from its own hourly aggregates (models/, edge/forecast/). */
const forecastTarget = z.strictObject({
  id,
  /** The tag whose load is forecast: its aggregates of one (clock) hour are the model's history. */
  tag: z.string().min(1),
  horizon: z.enum(['day-ahead', 'hour-ahead']).default('day-ahead'),
  /** Model folder (model.onnx + card.json); without one the seasonal-naive forecast answers (NO_MODEL). */
  model: z.string().min(1).optional(),
  /** A second model run and scored beside the active one, never acted on. */
  shadow: z.string().min(1).optional(),
  /** Hourly history to start from (`timestamp,load` CSV, local time), for a gateway without a week of its own aggregates yet. */
  history: z.strictObject({ file: z.string().min(1), column: z.string().default('load'), scale: z.number().positive().default(1) }).optional(),
});

const forecastSection = z
  .strictObject({
    /** An inference slower than this is abandoned and the seasonal-naive forecast answers. */
    timeout: duration.default(1000),
    /** A model whose rolling MAPE over `window` (at least `minSamples` scored hours) exceeds `maxMape` % is replaced by the fallback until it recovers. */
    drift: z.strictObject({ maxMape: z.number().positive().default(20), window: duration.default(7 * 86_400_000), minSamples: z.number().int().min(1).default(24) }).default({ maxMape: 20, window: 7 * 86_400_000, minSamples: 24 }),
    /** How often the rolling model scores are sent to the hub. */
    scoresEvery: duration.default(300_000),
    clock: z
      .strictObject({
        /** The substation's time zone (IANA): forecasts are made on its local clock (hour of day, day of week, holidays). */
        timeZone: z.string().default('UTC'),
        /** Length of one hour on the agent's clock; shorter only when a simulator runs time faster (then set `simulatedStart`). */
        hour: duration.default(3_600_000),
        /** The simulated local time at the agent's start, when `hour` is shorter than real time. */
        simulatedStart: naiveLocalTime.optional(),
      })
      .default({ timeZone: 'UTC', hour: 3_600_000 }),
    targets: z.array(forecastTarget).default([]),
  })
  .default({ timeout: 1000, drift: { maxMape: 20, window: 7 * 86_400_000, minSamples: 24 }, scoresEvery: 300_000, clock: { timeZone: 'UTC', hour: 3_600_000 }, targets: [] })
  .superRefine((f, ctx) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: f.clock.timeZone });
    } catch {
      ctx.addIssue({ code: 'custom', path: ['clock', 'timeZone'], message: `expected an IANA time zone such as 'Europe/Berlin' or 'America/New_York', got '${f.clock.timeZone}'` });
    }
    if (f.clock.hour !== 3_600_000 && f.clock.simulatedStart === undefined) {
      ctx.addIssue({ code: 'custom', path: ['clock', 'simulatedStart'], message: 'expected a simulated start time when clock.hour is not 1h (time runs faster than real time)' });
    }
    const ids = new Set<string>();
    f.targets.forEach((t, i) => {
      if (ids.has(t.id)) ctx.addIssue({ code: 'custom', path: ['targets', i, 'id'], message: `forecast target id '${t.id}' is already used` });
      ids.add(t.id);
    });
  })
  .transform((f) => ({
    timeoutMs: f.timeout,
    drift: { maxMape: f.drift.maxMape, windowHours: Math.max(1, Math.round(f.drift.window / 3_600_000)), minSamples: f.drift.minSamples },
    scoresEveryMs: f.scoresEvery,
    clock: { timeZone: f.clock.timeZone, hourMs: f.clock.hour, ...(f.clock.simulatedStart ? { simulatedStart: f.clock.simulatedStart } : {}) },
    targets: f.targets,
  }));

/** A URL (`http://`, `mqtt://`): such a value is not a path. */
const URL_SCHEME = /^[a-z][a-z0-9+.-]+:\/\//i;

/**
 * Signed dispatch policy (edge/policy/active.ts): where updates come from and how often, and the
 * hub's root v1 that provisions trust on first start. Trust never comes from the source itself.
 */
const policySection = z
  .strictObject({
    /** The hub's TUF route (`http://hub:8080/tuf/`) or a directory (removable media, a shared folder). */
    source: z
      .string()
      .min(1)
      .refine((s) => !URL_SCHEME.test(s) || /^https?:\/\/[^\s/]+/i.test(s), { message: "an http(s):// URL such as 'http://hub.example:8080/tuf/', or a directory" })
      .optional(),
    /** How often the source is asked for an update (and the trust status checked). */
    every: duration.default(300_000),
    /** The hub's root v1 (1.root.json), used only while the trust store is empty. */
    trustedRoot: z.string().min(1).optional(),
  })
  .default({ every: 300_000 })
  .superRefine((p, ctx) => {
    if (p.every < 100) ctx.addIssue({ code: 'custom', path: ['every'], message: 'expected at least 100ms between updates' });
  })
  .transform(({ every, ...rest }) => ({ ...rest, everyMs: every }));

/**
 * The dispatch loop (edge/dispatch/loop.ts): how often it runs, the peak-shaving controller's
 * battery and feeder, the local interlocks re-checked right before every device write, and the
 * hub's decision key. Without `peakShaving` no loop runs.
 */
const socBounds = (o: { socMinPct: number; socMaxPct: number }, ctx: z.RefinementCtx) => {
  if (!(o.socMinPct < o.socMaxPct)) ctx.addIssue({ code: 'custom', path: ['socMaxPct'], message: `expected socMaxPct above socMinPct (${o.socMinPct} %)` });
};
const dispatchBattery = z
  .strictObject({
    /** The writable power setpoint on the device (kW, discharge > 0), e.g. `ns=1;s=BESS1.PowerSetpoint`. */
    setpointNodeId: z.string().min(1),
    /** The tag id of the battery's state of charge reading. */
    socTag: z.string().min(1),
    /** The tag id of the battery's measured active power (kW, discharge > 0), for the audit's observed effect. */
    powerTag: z.string().min(1).optional(),
    capacityKwh: energyKwh.refine((v) => v > 0, { message: 'expected a capacity above 0' }),
    maxDischargeKw: powerKw.refine((v) => v >= 0, { message: 'expected a power >= 0' }),
    maxChargeKw: powerKw.refine((v) => v >= 0, { message: 'expected a power >= 0' }),
    roundTripEfficiency: z.number().gt(0).max(1).default(0.9),
    socMinPct: percent.refine((v) => v >= 0 && v <= 100, { message: 'expected 0-100 %' }),
    socMaxPct: percent.refine((v) => v >= 0 && v <= 100, { message: 'expected 0-100 %' }),
  })
  .superRefine(socBounds);
const peakShaving = z.strictObject({
  /** The forecast target (forecast.targets[].id) the controller plans on. */
  forecastTarget: id,
  /** The tag id of the feeder's measured load (a persistence guard against a missed peak). */
  feederTag: z.string().min(1),
  /** The feeder's import limit. */
  limitKw: powerKw,
  basis: z.enum(['load', 'p90']).default('load'),
  /** The asset named in proposals (and matched by policy rules' `assets`). */
  assetId: id.default('bess-01'),
  battery: dispatchBattery,
  /** The device's OPC UA endpoint the setpoint is written to. */
  endpoint: z.string().regex(/^opc\.tcp:\/\/[^\s/]+/, { message: 'an opc.tcp:// endpoint URL' }),
});
const interlocks = z
  .strictObject({
    /** No discharge at or below this state of charge, no charge at or above socMaxPct. */
    socMinPct: percent.refine((v) => v >= 0 && v <= 100, { message: 'expected 0-100 %' }),
    socMaxPct: percent.refine((v) => v >= 0 && v <= 100, { message: 'expected 0-100 %' }),
    /** No write while the voltage (voltageTag) is outside [lo, hi]. */
    voltageBandPu: z.tuple([perUnit, perUnit]).refine(([lo, hi]) => lo < hi, { message: 'expected [low, high] with low below high, e.g. [0.95, 1.05]' }),
    voltageTag: z.string().min(1),
    /** Largest change of the setpoint in one write. */
    maxStepKw: powerKw.refine((v) => v > 0, { message: 'expected a step above 0' }),
  })
  .superRefine(socBounds);
/**
 * Cycles started by readings, besides the timer: a new good reading of one of `tags` starts a
 * cycle at once, unless one started less than `debounce` ago; then one more starts when that
 * time is up (however many readings came meanwhile).
 */
const onReading = z
  .strictObject({
    tags: z.array(z.string().min(1)).min(1, { message: 'expected at least one tag id' }),
    debounce: duration.default(250),
  })
  .transform(({ debounce, ...rest }) => ({ ...rest, debounceMs: debounce }));
const dispatchSection = z
  .strictObject({
    /** The cycle: snapshot, controllers, dispatcher. */
    every: duration.default(10_000),
    onReading: onReading.optional(),
    /** A device write (with its read-back) not verified within this is aborted. */
    writeTimeout: duration.default(5_000),
    /** The hub's public decision key (PEM file); without it every hub decision is refused. */
    decisionKey: z.string().min(1).optional(),
    /** How long after a setpoint is executed the audit records its observed effect (feeder load, battery power and SoC). */
    effectAfter: duration.default(60_000),
    peakShaving: peakShaving.optional(),
    interlocks: interlocks.optional(),
  })
  .default({ every: 10_000, writeTimeout: 5_000, effectAfter: 60_000 })
  .superRefine((d, ctx) => {
    if (d.every < 100) ctx.addIssue({ code: 'custom', path: ['every'], message: 'expected at least 100ms between cycles' });
    if (d.peakShaving && !d.interlocks) ctx.addIssue({ code: 'custom', path: ['interlocks'], message: 'expected interlocks (socMinPct, socMaxPct, voltageBandPu, voltageTag, maxStepKw) whenever a controller writes to a device' });
  })
  .transform(({ every, writeTimeout, effectAfter, ...rest }) => ({ ...rest, everyMs: every, writeTimeoutMs: writeTimeout, effectAfterMs: effectAfter }));

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
    storage: z
      .strictObject({
        dataDir: z.string().min(1),
        /** At most this many readings per durable transaction (one fsync); messages stay at uplink.maxBatchReadings. */
        maxCommitReadings: z.number().int().min(1).max(1_000_000).default(20_000),
        /**
         * Input that waits on its commit (MQTT, acknowledged to its broker only once stored) is
         * gathered this long, then committed with one fsync. The broker's in-flight window
         * (mosquitto max_inflight_messages) divided by this is the most messages per second a
         * source can take: raise the window for high rates.
         */
        groupCommit: duration.default(20),
        /** While the store cannot write (disk full), keep up to this many readings in memory before dropping the oldest. */
        maxRetainedReadings: z.number().int().min(0).max(10_000_000).default(50_000),
        /** How long raw readings stay in the local store (aggregates stay); 0 keeps them for ever. */
        retention: duration.default(30 * 86_400_000),
        /** SQLite's page cache for the store, an upper bound: what appends and acknowledgements touch fits in a few MiB. */
        cacheSize: byteSize.pipe(z.number().min(256 * 1024).max(1024 ** 3)).default(4 * 1024 * 1024),
      })
      .transform(({ retention, groupCommit, ...rest }) => ({ ...rest, retentionMs: retention, groupCommitMs: groupCommit })),
    sources: z.array(source).min(1),
    pipeline: z
      .strictObject({
        /** How far behind a tag's newest reading another may arrive and still be aggregated. */
        lateness: duration.default(5_000),
        /** A reading stamped further ahead of the gateway's clock than this is refused (a device with a wild clock). */
        maxClockAhead: duration.default(86_400_000),
        /** Aggregate windows per tag: each a whole multiple of the first. */
        windows: z.array(duration).min(1).max(6).default([60_000, 900_000, 3_600_000]),
        /** Sensor checks for every tag (a tag's own `quality` overrides them). Off by default. */
        quality: qualityChecks.default({}),
      })
      .default({ lateness: 5_000, maxClockAhead: 86_400_000, windows: [60_000, 900_000, 3_600_000], quality: {} })
      .superRefine((p, ctx) => {
        const sorted = [...p.windows].sort((a, b) => a - b);
        if (sorted.some((w, i) => w % sorted[0]! !== 0 || (i > 0 && w === sorted[i - 1]))) {
          ctx.addIssue({ code: 'custom', path: ['windows'], message: `distinct windows, each a multiple of the shortest (${sorted[0]} ms)` });
        }
      })
      .transform((p) => ({
        latenessMs: p.lateness,
        maxClockAheadMs: p.maxClockAhead,
        windowsMs: [...p.windows].sort((a, b) => a - b),
        quality: { stuckSamples: p.quality.stuckSamples ?? 0, spikeSigma: p.quality.spikeSigma ?? 0, spikeWarmup: p.quality.spikeWarmup ?? 30 },
      })),
    uplink: z
      .strictObject({
        flushInterval: duration.default(1000),
        maxBatchReadings: z.number().int().min(1).max(100_000).default(1000),
        maxBatchBytes: byteSize.default(256 * 1024),
        compress: z.boolean().default(true),
        inFlight: z.number().int().min(1).max(10_000).default(32),
        ackTimeout: duration.default(10_000),
        backlogShare: z.number().min(0).max(1).default(0.5),
        /** How often the audit chain is looked at for records to send to the hub (besides after each append by the agent). */
        auditSyncInterval: duration.default(30_000),
        /** Audit records per message to the hub, at most. */
        auditBatchRecords: z.number().int().min(1).max(10_000).default(500),
        /**
         * With nothing new to send, a signed checkpoint of the chain's head goes to the hub this
         * often: the hub then knows a quiet edge is in sync, and alarms `stale` only an edge whose
         * chain stopped reaching it (keep it well under the hub's audit.staleAfter, 15 min).
         */
        auditHeadEvery: duration.pipe(z.number().min(1000)).default(300_000),
      })
      .default({ flushInterval: 1000, maxBatchReadings: 1000, maxBatchBytes: 256 * 1024, compress: true, inFlight: 32, ackTimeout: 10_000, backlogShare: 0.5, auditSyncInterval: 30_000, auditBatchRecords: 500, auditHeadEvery: 300_000 })
      .transform((u) => ({
        flushIntervalMs: u.flushInterval,
        maxBatchReadings: u.maxBatchReadings,
        maxBatchBytes: u.maxBatchBytes,
        compress: u.compress,
        inFlight: u.inFlight,
        ackTimeoutMs: u.ackTimeout,
        backlogShare: u.backlogShare,
        auditSyncIntervalMs: u.auditSyncInterval,
        auditBatchRecords: u.auditBatchRecords,
        auditHeadEveryMs: u.auditHeadEvery,
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
    forecast: forecastSection,
    policy: policySection,
    dispatch: dispatchSection,
  })
  .superRefine((cfg, ctx) => {
    const seen = new Map<string, string>();
    cfg.sources.forEach((src, s) => {
      for (const { tag, path } of tagsOf(src)) {
        const where = ['sources', s, ...path];
        const first = seen.get(tag.id);
        if (first) ctx.addIssue({ code: 'custom', path: [...where, 'id'], message: `tag id '${tag.id}' is already used at ${first}` });
        else seen.set(tag.id, where.join('.'));
        if (tag.min >= tag.max) ctx.addIssue({ code: 'custom', path: [...where, 'max'], message: `max (${tag.max}) must be greater than min (${tag.min})` });
      }
    });
    const ps = cfg.dispatch.peakShaving;
    const tagProblem = (path: (string | number)[], tag: string | undefined) => {
      if (tag !== undefined && !seen.has(tag) && !cfg.sources.some((s) => s.kind === 'sparkplug' && s.discover)) ctx.addIssue({ code: 'custom', path, message: `expected the id of a configured tag, got '${tag}' (tags: ${[...seen.keys()].slice(0, 8).join(', ')}${seen.size > 8 ? ', ...' : ''})` });
    };
    if (ps) {
      tagProblem(['dispatch', 'peakShaving', 'feederTag'], ps.feederTag);
      tagProblem(['dispatch', 'peakShaving', 'battery', 'socTag'], ps.battery.socTag);
      tagProblem(['dispatch', 'peakShaving', 'battery', 'powerTag'], ps.battery.powerTag);
      tagProblem(['dispatch', 'interlocks', 'voltageTag'], cfg.dispatch.interlocks?.voltageTag);
    }
    cfg.dispatch.onReading?.tags.forEach((tag, i) => tagProblem(['dispatch', 'onReading', 'tags', i], tag));
    cfg.forecast.targets.forEach((t, i) => {
      if (!seen.has(t.tag) && !cfg.sources.some((s) => s.kind === 'sparkplug' && s.discover)) {
        ctx.addIssue({ code: 'custom', path: ['forecast', 'targets', i, 'tag'], message: `expected the id of a configured tag, got '${t.tag}' (tags: ${[...seen.keys()].slice(0, 8).join(', ')}${seen.size > 8 ? ', ...' : ''})` });
      }
      if (!cfg.pipeline.windowsMs.includes(cfg.forecast.clock.hourMs)) {
        ctx.addIssue({ code: 'custom', path: ['forecast', 'clock', 'hour'], message: `expected one of pipeline.windows (${cfg.pipeline.windowsMs.join(', ')} ms): forecasts are built from the aggregates of one hour, ${cfg.forecast.clock.hourMs} ms` });
      }
    });
  });

type AnySource = z.output<typeof source>;
type AnyTag = { id: string; unit: string; description: string; min: number; max: number; quality?: z.output<typeof qualityChecks> };

/** Every tag a source configures, with where it sits in the source's config (for messages). */
export function tagsOf<S extends AnySource>(src: S): { tag: AnyTag; path: (string | number)[] }[] {
  if (src.kind === 'mqtt') return src.topics.flatMap((topic, i) => topic.tags.map((tag, t) => ({ tag, path: ['topics', i, 'tags', t] })));
  return (src.tags as AnyTag[]).map((tag, t) => ({ tag, path: ['tags', t] }));
}

export type EdgeConfigInput = z.input<typeof edgeConfigSchema>;
export type EdgeConfig = z.output<typeof edgeConfigSchema>;
export type SourceConfig = EdgeConfig['sources'][number];
export type OpcuaSourceConfig = Extract<SourceConfig, { kind: 'opcua' }>;
export type ReplaySourceConfig = Extract<SourceConfig, { kind: 'replay' }>;
export type MqttSourceConfig = Extract<SourceConfig, { kind: 'mqtt' }>;
export type SparkplugSourceConfig = Extract<SourceConfig, { kind: 'sparkplug' }>;
/** A tag as any source configures it. */
export type TagConfig = AnyTag;
