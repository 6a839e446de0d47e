import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadEdgeConfig, loadHubConfig, parseDurationMs } from '../../config/index.js';
import { parseBytes } from '../../config/units.js';

const dir = mkdtempSync(join(tmpdir(), 'gridos-config-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.message.split('\n');
    throw e;
  }
  throw new Error('expected a ConfigError');
}

const minimalEdge = `
edge: { id: e1, site: s1 }
hub: { mqttUrl: "mqtt://127.0.0.1:1883" }
storage: { dataDir: ./data }
sources:
  - kind: opcua
    name: sub
    endpoint: opc.tcp://127.0.0.1:4840
    tags: [{ id: t1, nodeId: "ns=1;s=X" }]
`;

describe('example configs', () => {
  it('config/edge.example.yaml parses, compiles durations to ms and freezes', () => {
    const cfg = loadEdgeConfig('config/edge.example.yaml', { env: {} });
    expect(cfg.edge.id).toBe('edge-north-01');
    expect(cfg.sources[0]).toMatchObject({ kind: 'opcua', samplingIntervalMs: 1000 });
    expect(cfg.pipeline).toMatchObject({ latenessMs: 5_000, windowsMs: [60_000, 900_000, 3_600_000] });
    expect(cfg.sources[0]?.kind === 'opcua' && cfg.sources[0].tags.length).toBeGreaterThan(5);
    expect(isAbsolute(cfg.storage.dataDir)).toBe(true);
    expect(Object.isFrozen(cfg.sources[0])).toBe(true);
    // model folders resolve against the config file's folder, so the example points at the shipped models
    const target = cfg.forecast.targets[0]!;
    expect(target.model).toBe(join(process.cwd(), 'models/artifacts/feeder-day-ahead'));
    expect(target.shadow).toBe(join(process.cwd(), 'models/artifacts/feeder-day-ahead-linear'));
    expect(cfg.forecast).toMatchObject({ timeoutMs: 1000, scoresEveryMs: 300_000, drift: { maxMape: 20, windowHours: 168, minSamples: 24 }, clock: { timeZone: 'America/New_York', hourMs: 3_600_000 } });
  });

  it('config/hub.example.yaml parses, and no file at all gives the embedded defaults', () => {
    expect(loadHubConfig('config/hub.example.yaml', { env: {} }).broker).toEqual({ mode: 'embedded', host: '127.0.0.1', port: 1883 });
    const d = loadHubConfig(undefined, { env: {} });
    expect(d.http.port).toBe(8080);
    expect(d.broker.mode).toBe('embedded');
  });
});

describe('bad files list every problem as file: key: expected X, got Y', () => {
  it('wrong types, unknown keys, bad enums and formats, all at once', () => {
    const path = file(
      'bad.yaml',
      `
edge: { id: e1, site: "bad site" }
hub: { mqttUrl: "http://nope" }
storage: { dataDir: 42 }
sources:
  - kind: opcua
    name: sub
    endpoint: opc.tcp://127.0.0.1:4840
    securityMode: Encrypted
    samplingInterval: soon
    tags: [{ id: t1, nodeId: "ns=1;s=X", mn: 3 }]
uplink: { maxBatchReadings: 0 }
`,
    );
    const lines = problems(() => loadEdgeConfig(path, { env: {} }));
    expect(lines).toEqual(
      expect.arrayContaining([
        `${path}: edge.site: expected an id of 1-64 letters, digits, '_', '.', '-', got string "bad site"`,
        `${path}: hub.mqttUrl: expected an MQTT URL such as mqtt://hub.example:1883, got string "http://nope"`,
        `${path}: storage.dataDir: expected string, got number 42`,
        `${path}: sources.0.securityMode: expected one of "None", "Sign", "SignAndEncrypt", got string "Encrypted"`,
        `${path}: sources.0.samplingInterval: expected a duration such as "500ms", "5s", "15m" or "1h", got string "soon"`,
        `${path}: sources.0.tags.0.mn: unknown key (check its spelling and level)`,
        `${path}: uplink.maxBatchReadings: expected >= 1, got number 0`,
      ]),
    );
    expect(lines).toHaveLength(7);
  });

  it('a missing section says so', () => {
    const path = file('missing.yaml', 'edge: { id: e1, site: s1 }\n');
    const lines = problems(() => loadEdgeConfig(path, { env: {} }));
    expect(lines).toContain(`${path}: hub: expected object, got nothing (the key is missing)`);
    expect(lines).toContain(`${path}: sources: expected array, got nothing (the key is missing)`);
  });

  it('duplicate tag ids and inverted ranges are caught', () => {
    const path = file('dup.yaml', minimalEdge.replace('tags: [{ id: t1, nodeId: "ns=1;s=X" }]', 'tags: [{ id: t1, nodeId: "ns=1;s=X" }, { id: t1, nodeId: "ns=1;s=Y", min: 5, max: 1 }]'));
    const lines = problems(() => loadEdgeConfig(path, { env: {} }));
    expect(lines).toContain(`${path}: sources.0.tags.1.id: tag id 't1' is already used at sources.0.tags.0`);
    expect(lines).toContain(`${path}: sources.0.tags.1.max: max (1) must be greater than min (5)`);
  });

  it('YAML syntax errors give the line', () => {
    const path = file('syntax.yaml', 'edge:\n  id: [unclosed\n');
    expect(problems(() => loadEdgeConfig(path, { env: {} }))[0]).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\(document\\): YAML syntax error at line \\d+`));
  });

  it('a file that does not exist', () => {
    expect(problems(() => loadEdgeConfig(join(dir, 'nope.yaml'), { env: {} }))[0]).toBe(`${join(dir, 'nope.yaml')}: (document): cannot read the config file: no such file`);
  });

  it('an unknown source kind names the allowed ones', () => {
    const path = file('kind.yaml', minimalEdge.replace('kind: opcua', 'kind: modbus'));
    const lines = problems(() => loadEdgeConfig(path, { env: {} }));
    expect(lines.some((l) => l.startsWith(`${path}: sources.0.kind:`) && l.includes('opcua'))).toBe(true);
  });
});

describe('forecast section', () => {
  it('names an unknown tag, an hour that is no aggregate window, a bad time zone and a missing simulated start', () => {
    const f = file(
      'forecast-bad.yaml',
      minimalEdge +
        `forecast:
  clock: { timeZone: Mars/Olympus, hour: 2s }
  targets:
    - { id: load, tag: nope, horizon: week-ahead }
    - { id: load, tag: t1 }
`,
    );
    const p = problems(() => loadEdgeConfig(f, { env: {} }));
    expect(p).toEqual(
      expect.arrayContaining([
        `${f}: forecast.targets.0.horizon: expected one of "day-ahead", "hour-ahead", got string "week-ahead"`,
      ]),
    );
    const g = file('forecast-bad2.yaml', minimalEdge + `forecast:\n  clock: { timeZone: Mars/Olympus, hour: 2s }\n  targets:\n    - { id: load, tag: nope }\n    - { id: load, tag: t1 }\n`);
    const q = problems(() => loadEdgeConfig(g, { env: {} })).join('\n');
    expect(q).toContain(`${g}: forecast.clock.timeZone: expected an IANA time zone`);
    expect(q).toContain(`${g}: forecast.clock.simulatedStart: expected a simulated start time when clock.hour is not 1h`);
    expect(q).toContain(`${g}: forecast.targets.1.id: forecast target id 'load' is already used`);
    const h = file('forecast-bad3.yaml', minimalEdge + `forecast:\n  clock: { hour: 2s, simulatedStart: "2018-07-16T00:00" }\n  targets:\n    - { id: load, tag: nope }\n`);
    const r = problems(() => loadEdgeConfig(h, { env: {} })).join('\n');
    expect(r).toContain(`${h}: forecast.targets.0.tag: expected the id of a configured tag, got 'nope' (tags: t1)`);
    expect(r).toContain(`${h}: forecast.clock.hour: expected one of pipeline.windows (60000, 900000, 3600000 ms)`);
  });
});

describe('GRIDOS_ environment overrides', () => {
  it('override nested keys, camelCase and array elements, with YAML scalar types', () => {
    const path = file('env.yaml', minimalEdge);
    const cfg = loadEdgeConfig(path, {
      env: { GRIDOS_HUB__MQTT_URL: 'mqtt://hub.example:1884', GRIDOS_SOURCES__0__ENDPOINT: 'opc.tcp://10.0.0.5:4840', GRIDOS_UPLINK__MAX_BATCH_READINGS: '250', OTHER: 'x' },
    });
    expect(cfg.hub.mqttUrl).toBe('mqtt://hub.example:1884');
    expect(cfg.sources[0]).toMatchObject({ endpoint: 'opc.tcp://10.0.0.5:4840' });
    expect(cfg.uplink.maxBatchReadings).toBe(250);
    expect(loadHubConfig(undefined, { env: { GRIDOS_HTTP__PORT: '9090' } }).http.port).toBe(9090);
  });

  it('a bad override names the variable', () => {
    const lines = problems(() => loadHubConfig(undefined, { env: { GRIDOS_HTTP__PORT: 'eighty', GRIDOS_HTTP__PROT: '1' } }));
    expect(lines).toContain('env GRIDOS_HTTP__PORT (over (defaults)): http.port: expected number, got string "eighty"');
    expect(lines).toContain('env GRIDOS_HTTP__PROT (over (defaults)): http.prot: unknown key (check its spelling and level)');
  });
});

describe('durations', () => {
  it.each([
    ['250ms', 250],
    ['5s', 5000],
    ['1.5m', 90_000],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
  ])('%s = %d ms', (text, ms) => expect(parseDurationMs(text)).toBe(ms));
  it.each(['5', 'soon', '-1s', '1 week'])('%s is not a duration', (text) => expect(parseDurationMs(text)).toBeUndefined());
});

describe('sizes', () => {
  it.each([
    ['512KB', 512_000],
    ['64MiB', 64 * 1024 ** 2],
    ['1.5GB', 1.5e9],
    ['10B', 10],
  ])('%s = %d bytes', (text, bytes) => expect(parseBytes(text)).toBe(bytes));
  it.each(['64', 'big', '1 TB', '-1MB'])('%s is not a size', (text) => expect(parseBytes(text)).toBeUndefined());

  it('an outbox size that is not a size names the key', () => {
    const path = file('size.yaml', minimalEdge + 'outbox: { maxSize: huge }\n');
    expect(problems(() => loadEdgeConfig(path, { env: {} }))).toContain(`${path}: outbox.maxSize: expected a size such as "512KB", "64MiB" or "1GB", got string "huge"`);
  });

  it("the store's page cache defaults to 4 MiB, takes a size, and a size too small names the key and the bound in bytes", () => {
    expect(loadEdgeConfig(file('cache-default.yaml', minimalEdge), { env: {} }).storage.cacheSize).toBe(4 * 1024 ** 2);
    const set = minimalEdge.replace('storage: { dataDir: ./data }', 'storage: { dataDir: ./data, cacheSize: 2MiB }');
    expect(loadEdgeConfig(file('cache-2m.yaml', set), { env: {} }).storage.cacheSize).toBe(2 * 1024 ** 2);
    const tiny = file('cache-tiny.yaml', minimalEdge.replace('storage: { dataDir: ./data }', 'storage: { dataDir: ./data, cacheSize: 4KB }'));
    expect(problems(() => loadEdgeConfig(tiny, { env: {} }))).toContain(`${tiny}: storage.cacheSize: expected >= 262144, got string "4KB"`);
  });
});

describe('policy section', () => {
  it('defaults to every 5 min with no source; relative paths resolve against the file, a URL stays as written', () => {
    expect(loadEdgeConfig(file('policy-none.yaml', minimalEdge), { env: {} }).policy).toEqual({ everyMs: 300_000 });
    const url = loadEdgeConfig(file('policy-url.yaml', minimalEdge + 'policy: { source: "http://hub:8080/tuf/", every: 30s, trustedRoot: ./keys/1.root.json }\n'), { env: {} });
    expect(url.policy).toEqual({ source: 'http://hub:8080/tuf/', everyMs: 30_000, trustedRoot: join(dir, 'keys', '1.root.json') });
    const media = loadEdgeConfig(file('policy-dir.yaml', minimalEdge + 'policy: { source: ../media/gridos }\n'), { env: {} });
    expect(media.policy.source).toBe(join(dir, '..', 'media', 'gridos'));
  });

  it('names a source that is neither an http(s) URL nor a directory, and a period too short', () => {
    const f = file('policy-bad.yaml', minimalEdge + 'policy: { source: "ftp://hub/tuf/", every: 10ms, trustFirstUse: true }\n');
    const p = problems(() => loadEdgeConfig(f, { env: {} }));
    expect(p).toContain(`${f}: policy.source: an http(s):// URL such as 'http://hub.example:8080/tuf/', or a directory`);
    expect(p.some((l) => l.startsWith(`${f}: policy.trustFirstUse: unknown key`))).toBe(true);
  });

  it('an update period under 100ms is refused', () => {
    const f = file('policy-fast.yaml', minimalEdge + 'policy: { every: 10ms }\n');
    expect(problems(() => loadEdgeConfig(f, { env: {} }))).toEqual([`${f}: policy.every: expected at least 100ms between updates, got string "10ms"`]);
  });
});

describe('dispatch section', () => {
  it("the commented dispatch example in config/edge.example.yaml parses once uncommented, with units compiled", () => {
    const [before, after] = readFileSync('config/edge.example.yaml', 'utf8').split('\ndispatch:\n');
    const text = `${before}\ndispatch:\n${after!.replace(/^  # (?=decisionKey|onReading|peakShaving|interlocks| {2})/gm, '  ')}`;
    const cfg = loadEdgeConfig(file('dispatch-example.yaml', text), { env: {} });
    expect(cfg.dispatch).toMatchObject({ everyMs: 10_000, writeTimeoutMs: 5_000, interlocks: { socMinPct: 15, socMaxPct: 92, voltageBandPu: [0.95, 1.05], maxStepKw: 500 } });
    expect(cfg.dispatch.peakShaving).toMatchObject({ limitKw: 3400, battery: { capacityKwh: 2000, maxDischargeKw: 1000, socMinPct: 10 } });
    expect(isAbsolute(cfg.dispatch.decisionKey!)).toBe(true);
    expect(cfg.dispatch.onReading).toEqual({ tags: ['feeder1.active_power_kw', 'bess1.soc_pct', 'feeder1.voltage_pu'], debounceMs: 250 });
  });

  it('rejects a controller without interlocks and a tag nobody reads, readably', () => {
    const p = problems(() =>
      loadEdgeConfig(
        file(
          'dispatch-bad.yaml',
          `${minimalEdge}dispatch:\n  peakShaving:\n    forecastTarget: f1\n    feederTag: nope\n    limitKw: 3 MW\n    endpoint: opc.tcp://127.0.0.1:4840\n    battery: { setpointNodeId: "ns=1;s=B", socTag: t1, capacityKwh: 2 MWh, maxDischargeKw: 1 MW, maxChargeKw: 1 MW, socMinPct: 90, socMaxPct: 10 }\n  onReading: { tags: [t1, nope2] }\n`,
        ),
        { env: {} },
      ),
    );
    expect(p.some((l) => l.includes("dispatch.onReading.tags.1: expected the id of a configured tag, got 'nope2'"))).toBe(true);
    expect(p.some((l) => l.includes('dispatch.onReading.tags.0'))).toBe(false);
    expect(p.some((l) => l.includes('dispatch.interlocks: expected interlocks'))).toBe(true);
    expect(p.some((l) => l.includes('dispatch.peakShaving.battery.socMaxPct: expected socMaxPct above socMinPct (90 %)'))).toBe(true);
  });
});
