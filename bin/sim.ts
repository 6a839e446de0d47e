/** `gridos sim substation`: the simulated substation, served over OPC UA. `gridos sim sparkplug`: a Sparkplug B edge node publishing to a broker. */
import { Command, Option } from 'commander';
import { join, resolve } from 'node:path';
import { DataType } from '../protocols/sparkplug/index.js';
// Options and defaults only: the simulators themselves (node-opcua, mqtt) load when a command runs.
import type { SparkplugNode } from '../simulators/index.js';
import { SparkplugOptionsError, sparkplugNodeDefaults } from '../simulators/sparkplug/options.js';
import { substationDefaults } from '../simulators/substation/options.js';
import { createLogger, type LogFormat } from './logger.js';
import { dateOption, EXIT_CONFIG, intOption, onShutdown, positiveNumber } from './options.js';

interface SimOptions {
  port: number;
  feeders: number;
  hourSeconds: number;
  start: Date;
  tickMs: number;
  dataDir: string;
}

export function simCommand(): Command {
  const sim = new Command('sim').description('simulators that speak real protocols');
  sim
    .command('substation')
    .description('a substation (feeders, PV plant, battery) on an OPC UA server, replaying real load data')
    .addOption(new Option('-p, --port <port>', 'OPC UA TCP port (0 picks a free one)').argParser(intOption(0, 65535)).default(substationDefaults.port))
    .addOption(new Option('--feeders <n>', 'number of feeders').argParser(intOption(1, 16)).default(substationDefaults.feeders))
    .addOption(new Option('--hour-seconds <s>', 'real seconds per simulated hour (3600 = real time, 60 = 60x)').argParser(positiveNumber).default(substationDefaults.hourSeconds))
    .addOption(new Option('--start <time>', 'simulated start time (local), within the data slice').argParser(dateOption).default(substationDefaults.startSimTime, substationDefaults.startSimTime.toISOString()))
    .addOption(new Option('--tick-ms <ms>', 'real milliseconds between physics steps').argParser(intOption(50, 60_000)).default(substationDefaults.tickMs))
    .option('--data-dir <dir>', 'folder for the server certificates', './var/sim')
    .action(async (opts: SimOptions, cmd: Command) => {
      const global = cmd.optsWithGlobals<{ logFormat: LogFormat; logLevel?: string }>();
      const logger = createLogger({ level: global.logLevel ?? 'info', format: global.logFormat, name: 'gridos-sim' });
      const { startSubstation } = await import('../simulators/index.js');
      const handle = await startSubstation({
        port: opts.port,
        feeders: opts.feeders,
        hourSeconds: opts.hourSeconds,
        startSimTime: opts.start,
        tickMs: opts.tickMs,
        pkiDir: join(resolve(opts.dataDir), 'pki'),
        logger,
      });
      process.stderr.write(`gridos sim substation: ${handle.endpointUrl}\n`);
      for (const p of handle.points) {
        process.stderr.write(`  ${p.nodeId.padEnd(34)} ${p.tag.padEnd(30)} ${p.unit.padEnd(5)} ${p.writable ? 'writable' : ''}\n`);
      }
      onShutdown(() => handle.stop());
    });
  sim.addCommand(sparkplugCommand());
  return sim;
}

const FAULT_KINDS = ['spike', 'skip-seq', 'malformed', 'truncated', 'device-death', 'drop-connection'] as const;
type FaultKind = (typeof FAULT_KINDS)[number];

interface SparkplugCliOptions {
  url: string;
  group: string;
  node: string;
  clientId?: string;
  devices: number;
  metricsPerDevice: number;
  rate: number;
  batch: number;
  qos: 0 | 1;
  seed: number;
  stuck: string[];
  faults: FaultKind[];
  faultEvery: number;
  reportEvery: number;
}

function sparkplugCommand(): Command {
  const d = sparkplugNodeDefaults;
  return new Command('sparkplug')
    .description('a Sparkplug B edge node (Eclipse Sparkplug 3.0) with devices and metrics, publishing to an MQTT broker')
    .addOption(new Option('--url <url>', 'MQTT broker').default(d.url))
    .addOption(new Option('--group <id>', 'Sparkplug group id').default(d.group))
    .addOption(new Option('--node <id>', 'Sparkplug edge node id').default(d.node))
    .addOption(new Option('--client-id <id>', 'MQTT client id (default gridos-spb-<group>-<node>)'))
    .addOption(new Option('--devices <n>', 'devices of the node').argParser(intOption(1, 1000)).default(d.devices))
    .addOption(new Option('--metrics-per-device <n>', 'metrics per device').argParser(intOption(1, 10_000)).default(d.metricsPerDevice))
    .addOption(new Option('--rate <n>', 'metrics per second over all devices (0: births only)').argParser(intOption(0, 10_000_000)).default(d.ratePerSec))
    .addOption(new Option('--batch <n>', 'metrics per DDATA message (at most --metrics-per-device)').argParser(intOption(1, 10_000)).default(d.batchSize))
    .addOption(new Option('--qos <qos>', 'QoS of births and data').choices(['0', '1']).argParser((v) => Number(v) as 0 | 1).default(d.qos))
    .addOption(new Option('--seed <n>', 'seed of the signals').argParser(intOption(0, 0xffffffff)).default(d.seed))
    .addOption(new Option('--stuck <metric...>', 'metrics frozen from the start, as <device>/<metric>, e.g. Bay01/Feeder01/Voltage_kV').default([], 'none'))
    .addOption(new Option('--faults <kind...>', 'faults to inject in turn, one every --fault-every seconds').choices(FAULT_KINDS).default([], 'none'))
    .addOption(new Option('--fault-every <s>', 'seconds between injected faults').argParser(positiveNumber).default(10))
    .addOption(new Option('--report-every <s>', 'seconds between counter reports in the log').argParser(positiveNumber).default(10))
    .action(async (opts: SparkplugCliOptions, cmd: Command) => {
      const global = cmd.optsWithGlobals<{ logFormat: LogFormat; logLevel?: string }>();
      const logger = createLogger({ level: global.logLevel ?? 'info', format: global.logFormat, name: 'gridos-sim' });
      const { startSparkplugNode } = await import('../simulators/index.js');
      const node = await startSparkplugNode({
        ...d,
        url: opts.url,
        group: opts.group,
        node: opts.node,
        ...(opts.clientId !== undefined ? { clientId: opts.clientId } : {}),
        devices: opts.devices,
        metricsPerDevice: opts.metricsPerDevice,
        ratePerSec: opts.rate,
        batchSize: opts.batch,
        qos: opts.qos,
        seed: opts.seed,
        logger,
      }).catch((err: unknown) => {
        process.stderr.write(`gridos sim sparkplug: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(err instanceof SparkplugOptionsError ? EXIT_CONFIG : 1);
      });
      for (const m of opts.stuck) node.stuck(m);
      process.stderr.write(`gridos sim sparkplug: ${opts.url} spBv1.0/${opts.group}/+/${opts.node}, ${node.metrics.length} metrics, ${opts.rate}/s\n`);
      const timers = [setInterval(() => logger.info({ counters: node.counters() }, 'sparkplug counters'), opts.reportEvery * 1000)];
      if (opts.faults.length > 0) {
        const inject = faultInjector(node, opts.faults);
        timers.push(setInterval(() => {
          try {
            logger.warn({ fault: inject() }, 'fault injected');
          } catch (err) {
            logger.warn({ err }, 'fault not injected');
          }
        }, opts.faultEvery * 1000));
      }
      onShutdown(() => {
        for (const t of timers) clearInterval(t);
        return node.stop();
      });
    });
}

/** Cycles through the chosen faults; spikes walk the Double metrics, a dead device comes back at the next fault. */
function faultInjector(node: SparkplugNode, kinds: readonly FaultKind[]): () => string {
  const doubles = node.metrics.filter((m) => m.datatype === DataType.Double);
  const devices = [...new Set(node.metrics.map((m) => m.device))];
  let n = 0;
  let dead: string | undefined;
  return () => {
    const kind = kinds[n % kinds.length]!;
    n++;
    if (dead !== undefined) {
      node.reviveDevice(dead);
      dead = undefined;
    }
    switch (kind) {
      case 'spike': {
        const m = doubles[n % doubles.length]!;
        node.spike(m.key, 10);
        return `spike x10 ${m.key}`;
      }
      case 'skip-seq': node.skipSeq(1); return 'seq gap of 1';
      case 'malformed': node.malformed(); return 'malformed DDATA';
      case 'truncated': node.truncated(); return 'truncated DDATA';
      case 'device-death': dead = devices[n % devices.length]!; node.killDevice(dead); return `DDEATH ${dead}`;
      case 'drop-connection': node.dropConnection(); return 'connection dropped (will NDEATH)';
    }
  };
}
