/**
 * `gridos demo`: the whole system on loopback, on embedded defaults. A hub with its embedded
 * broker, a simulated substation on OPC UA, and an edge agent wired to both.
 */
import { Command, Option } from 'commander';
import { join, resolve } from 'node:path';
import { edgeConfigSchema, hubConfigSchema, validateConfig, type EdgeConfigInput, type HubConfigInput } from '../config/index.js';
import { substationDefaults } from '../simulators/substation/options.js';
import { createLogger, type LogFormat } from './logger.js';
import { dateOption, intOption, onShutdown, positiveNumber } from './options.js';

interface DemoOptions {
  duration?: number;
  dataDir: string;
  httpPort: number;
  mqttPort: number;
  opcuaPort: number;
  hourSeconds: number;
  start: Date;
}

export const DEMO_EDGE = { id: 'edge-north-01', site: 'substation-north' } as const;

export async function runDemo(opts: DemoOptions, logFormat: LogFormat, logLevel: string): Promise<void> {
  const logger = createLogger({ level: logLevel, format: logFormat, name: 'gridos-demo' });
  const dataDir = resolve(opts.dataDir);
  const hubDoc: HubConfigInput = {
    http: { host: '127.0.0.1', port: opts.httpPort },
    broker: { mode: 'embedded', host: '127.0.0.1', port: opts.mqttPort },
    storage: { dataDir: join(dataDir, 'hub') },
  };
  // Loaded here, not at the top: `gridos edge` on a gateway should not pay for the hub and simulators.
  const [{ buildHub }, { startAgent }, { startSubstation }] = await Promise.all([import('../hub/index.js'), import('../edge/index.js'), import('../simulators/index.js')]);
  const hub = await buildHub(validateConfig(hubConfigSchema, { ...hubDoc }, 'demo hub config'), { logger });
  const { httpUrl, brokerUrl } = await hub.start();

  const sim = await startSubstation({
    ...substationDefaults,
    port: opts.opcuaPort,
    hourSeconds: opts.hourSeconds,
    startSimTime: opts.start,
    pkiDir: join(dataDir, 'sim', 'pki'),
    logger: logger.child({ component: 'simulator' }),
  });

  // The edge forecasts feeder 1 on the simulator's clock: one simulated hour is `hourSeconds`, its
  // week of history before the start comes from the same data the simulator replays (scaled to
  // the feeder's 4 MW peak), as a new gateway would be seeded from its historian.
  const hourMs = Math.round(opts.hourSeconds * 1000);
  const models = (name: string): string => new URL(`../models/artifacts/${name}`, import.meta.url).pathname;
  const daytonFile = new URL('../simulators/data/pjm_dayton.csv', import.meta.url).pathname;
  const { readSeriesCsv } = await import('../models/series.js');
  const dayton = readSeriesCsv(daytonFile).load;
  const daytonPeak = dayton.reduce((m, v) => (v > m ? v : m), 0);
  const defaultWindows = [60_000, 900_000, 3_600_000];
  const windows = defaultWindows.includes(hourMs) ? defaultWindows : [hourMs, 24 * hourMs];
  const edgeDoc: EdgeConfigInput = {
    edge: { id: DEMO_EDGE.id, site: DEMO_EDGE.site, name: 'Demo substation gateway' },
    hub: { mqttUrl: brokerUrl },
    storage: { dataDir: join(dataDir, DEMO_EDGE.id) },
    sources: [
      {
        kind: 'opcua',
        name: 'substation',
        endpoint: sim.endpointUrl,
        tags: sim.points.map((p) => ({ id: p.tag, nodeId: p.nodeId, unit: p.unit, description: p.description, min: p.minValue, max: p.maxValue })),
      },
    ],
    pipeline: { windows },
    forecast: {
      clock: { hour: hourMs, simulatedStart: opts.start.toISOString().slice(0, 16) },
      scoresEvery: hourMs,
      targets: [
        { id: 'feeder1-hour-ahead', tag: 'feeder1.active_power_kw', horizon: 'hour-ahead', model: models('feeder-hour-ahead'), history: { file: daytonFile, scale: 4000 / daytonPeak } },
        { id: 'feeder1-day-ahead', tag: 'feeder1.active_power_kw', horizon: 'day-ahead', model: models('feeder-day-ahead'), shadow: models('feeder-day-ahead-linear'), history: { file: daytonFile, scale: 4000 / daytonPeak } },
      ],
    },
  };
  const agent = await startAgent(validateConfig(edgeConfigSchema, { ...edgeDoc }, 'demo edge config'), { logger });

  process.stderr.write(
    `\ngridos demo is running\n  console:  ${httpUrl}/\n  broker:   ${brokerUrl}\n  OPC UA:   ${sim.endpointUrl}\n  data:     ${dataDir}\n` +
      `  ${sim.points.length} tags, 1 simulated hour every ${opts.hourSeconds} s. ${opts.duration ? `Stops after ${opts.duration} s.` : 'Ctrl-C stops.'}\n\n`,
  );

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await agent.stop();
    await sim.stop();
    const edges = hub.store.edges();
    const tags = edges.flatMap((e) => hub.store.tags(e.id).map((t) => ({ edge: e.id, tag: t.id, latest: t.latest })));
    const forecasts = edges.flatMap((e) => hub.store.forecasts(e.id, undefined, 0, Number.MAX_SAFE_INTEGER, 10_000));
    const byModel = forecasts.filter((f) => !f.fallbackCode).length;
    await hub.stop();
    process.stderr.write(
      `gridos demo stopped: the hub holds readings for ${tags.filter((t) => t.latest).length} of ${tags.length} tags of ${edges.length} edge(s), ` +
        `and ${forecasts.length} forecasts (${byModel} by a model, ${forecasts.length - byModel} by the seasonal-naive fallback)\n`,
    );
  };
  onShutdown(stop);
  if (opts.duration !== undefined) {
    setTimeout(() => {
      stop().then(
        () => process.exit(0),
        (err: unknown) => {
          process.stderr.write(`gridos demo: error while stopping: ${String(err)}\n`);
          process.exit(1);
        },
      );
    }, opts.duration * 1000);
  }
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('run the whole system on loopback: hub, simulated substation, edge agent')
    .addOption(new Option('-d, --duration <seconds>', 'stop by itself after this many seconds').argParser(positiveNumber))
    .option('--data-dir <dir>', 'where the demo keeps its stores and certificates', './var/demo')
    .addOption(new Option('--http-port <port>', 'hub console and API port (0 picks a free one)').argParser(intOption(0, 65535)).default(8080))
    .addOption(new Option('--mqtt-port <port>', 'embedded MQTT broker port (0 picks a free one)').argParser(intOption(0, 65535)).default(1883))
    .addOption(new Option('--opcua-port <port>', 'simulated substation OPC UA port (0 picks a free one)').argParser(intOption(0, 65535)).default(4840))
    .addOption(new Option('--hour-seconds <s>', 'real seconds per simulated hour').argParser(positiveNumber).default(60))
    .addOption(new Option('--start <time>', 'simulated start time (local)').argParser(dateOption).default(substationDefaults.startSimTime, substationDefaults.startSimTime.toISOString()))
    .action(async (opts: DemoOptions, cmd: Command) => {
      const global = cmd.optsWithGlobals<{ logFormat: LogFormat; logLevel?: string }>();
      await runDemo(opts, global.logFormat, global.logLevel ?? 'info');
    });
}
