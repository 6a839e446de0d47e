/**
 * `gridos hub` and `gridos edge`: load a config, start the component, stop cleanly on a signal.
 * The component is imported only when its command runs: an edge gateway does not load the
 * hub's web server and broker, and `--help` starts fast.
 */
import { Command } from 'commander';
import { loadEdgeConfig, loadHubConfig } from '../config/index.js';
import { hubUserCommand } from './hub-user.js';
import { createLogger, type LogFormat } from './logger.js';
import { exitOnConfigError, onShutdown } from './options.js';

interface GlobalOptions {
  logFormat: LogFormat;
  logLevel?: string;
}

export function hubCommand(): Command {
  return new Command('hub')
    .description('run the hub: MQTT broker (embedded by default), ingest, REST API and console')
    .option('-c, --config <file>', 'hub config file (YAML); without one, embedded defaults are used')
    .option('--check', 'validate the config and exit')
    .addHelpText('after', '\nEnvironment: GRIDOS_<SECTION>__<KEY> overrides a config key, e.g. GRIDOS_HTTP__PORT=9080.\nExample config: config/hub.example.yaml')
    .addCommand(hubUserCommand())
    .action(async (opts: { config?: string; check?: boolean }, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOptions>();
      let config;
      try {
        config = loadHubConfig(opts.config);
      } catch (err) {
        exitOnConfigError(err);
      }
      if (opts.check) {
        process.stdout.write(`${opts.config ?? '(defaults)'}: valid hub configuration\n`);
        return;
      }
      const logger = createLogger({ level: global.logLevel ?? config.log.level, format: global.logFormat, name: 'gridos-hub' });
      const { buildHub } = await import('../hub/index.js');
      let hub;
      try {
        hub = await buildHub(config, { logger });
      } catch (err) {
        exitOnConfigError(err); // an edge audit key file that cannot be read, named by its key
      }
      const { httpUrl, brokerUrl } = await hub.start();
      process.stderr.write(`gridos hub: console ${httpUrl}/  broker ${brokerUrl}\n`);
      onShutdown(() => hub.stop());
    });
}

export function edgeCommand(): Command {
  return new Command('edge')
    .description('run an edge agent: sources, pipeline, local store, uplink to the hub')
    .requiredOption('-c, --config <file>', 'edge config file (YAML)')
    .option('--check', 'validate the config and exit')
    .addHelpText('after', '\nEnvironment: GRIDOS_<SECTION>__<KEY> overrides a config key, e.g. GRIDOS_HUB__MQTT_URL=mqtt://hub:1883.\nExample config: config/edge.example.yaml')
    .action(async (opts: { config: string; check?: boolean }, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOptions>();
      let config;
      try {
        config = loadEdgeConfig(opts.config);
      } catch (err) {
        exitOnConfigError(err);
      }
      if (opts.check) {
        process.stdout.write(`${opts.config}: valid edge configuration\n`);
        return;
      }
      const logger = createLogger({ level: global.logLevel ?? config.log.level, format: global.logFormat, name: 'gridos-edge' });
      const { startAgent } = await import('../edge/index.js');
      const agent = await startAgent(config, { logger });
      onShutdown(() => agent.stop());
    });
}
