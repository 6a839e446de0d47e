/**
 * `gridos policy ...`: the dispatch policy from the command line. `validate` checks a policy file;
 * `backtest` replays recorded load through the controllers and the policy; `sign`, `publish`,
 * `assign` and `status` distribute it signed (TUF, see hub/registry and edge/policy/update).
 */
import { Command } from 'commander';
import { exitOnConfigError } from './options.js';
import { policyBacktestCommand } from './policy-backtest.js';
import { policyAssignCommand, policyPublishCommand, policySignCommand } from './policy-release.js';
import { policyStatusCommand } from './policy-status.js';

function validateCommand(): Command {
  return new Command('validate')
    .description('check a policy file (YAML): every problem as file: key: expected X, got Y; exit 2 when invalid')
    .argument('<file>', 'policy file')
    .action(async (file: string) => {
      const { loadPolicy } = await import('../config/index.js');
      let policy;
      try {
        policy = loadPolicy(file);
      } catch (err) {
        exitOnConfigError(err);
      }
      process.stdout.write(`${file}: valid policy ${policy.id} version ${policy.version}, ${policy.rules.length} rules\n`);
    });
}

export function policyCommand(): Command {
  return new Command('policy')
    .description('the dispatch policy: validate, backtest, and signed distribution (sign, publish, assign, status)')
    .addCommand(validateCommand())
    .addCommand(policyBacktestCommand())
    .addCommand(policySignCommand())
    .addCommand(policyPublishCommand())
    .addCommand(policyAssignCommand())
    .addCommand(policyStatusCommand());
}
