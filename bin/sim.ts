/** `gridos sim substation`: the simulated substation, served over OPC UA. */
import { Command, Option } from 'commander';
import { join, resolve } from 'node:path';
import { startSubstation, substationDefaults } from '../simulators/index.js';
import { createLogger, type LogFormat } from './logger.js';
import { dateOption, intOption, onShutdown, positiveNumber } from './options.js';

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
  return sim;
}
