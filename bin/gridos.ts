#!/usr/bin/env node
/**
 * The `gridos` command: parses arguments, composes the parts, and hands over to edge/, hub/,
 * simulators/. Each subcommand lives in its own module; this file only wires them up.
 */
import { Command, Option } from 'commander';
import { demoCommand } from './demo.js';
import { edgeCommand, hubCommand } from './run.js';
import { simCommand } from './sim.js';
import { modelCommand } from './model.js';
import { policyCommand } from './policy.js';
import { keysCommand } from './keys.js';
import { bundleCommand } from './bundle.js';
import { auditCommand } from './audit.js';
import { LOG_FORMATS } from './options.js';

export const VERSION = '0.1.0';

const program = new Command('gridos')
  .description('gridos: an edge runtime for energy grids (SCADA/MQTT ingestion, forecasting, policy-gated dispatch)')
  .version(VERSION)
  .addOption(new Option('--log-format <format>', 'log output: JSON lines, or human-readable').choices(LOG_FORMATS).default('auto'))
  .addOption(new Option('--log-level <level>', 'log level (overrides the config file)').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
  .showHelpAfterError('(run with --help for usage)');

program.addCommand(hubCommand());
program.addCommand(edgeCommand());
program.addCommand(simCommand());
program.addCommand(demoCommand());
program.addCommand(modelCommand());
program.addCommand(policyCommand());
program.addCommand(keysCommand());
program.addCommand(bundleCommand());
program.addCommand(auditCommand());

await program.parseAsync(process.argv);
