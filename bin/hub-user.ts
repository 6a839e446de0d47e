/**
 * `gridos hub user add|passwd|disable`: manages the hub's users in its SQLite store (the config's
 * storage.dataDir, `hub.db`). Passwords come from stdin (`--password-stdin`, first line) or a
 * prompt on a terminal (not echoed, asked twice); never from the command line.
 * Exit 0: done; 1: refused (unknown user, name taken, weak password); 2: config error.
 */
import { Command, Option } from 'commander';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { loadHubConfig } from '../config/index.js';
import { EXIT_CONFIG, exitOnConfigError } from './options.js';

const ROLE_CHOICES = ['viewer', 'operator', 'supervisor', 'admin'];
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

function refuse(message: string, code = 1): never {
  process.stderr.write(`gridos hub user: ${message}\n`);
  process.exit(code);
}

async function readStdinLine(): Promise<string> {
  const rl = createInterface({ input: process.stdin, terminal: false });
  for await (const line of rl) {
    rl.close();
    return line;
  }
  return '';
}

/** Asks on the terminal without echoing what is typed. */
function promptHidden(question: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const out = rl as unknown as { _writeToOutput: (s: string) => void };
    rl.question(question, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
    out._writeToOutput = () => undefined;
    process.stderr.write(question);
  });
}

async function password(fromStdin: boolean | undefined): Promise<string> {
  if (fromStdin) return readStdinLine();
  if (!process.stdin.isTTY) refuse('no terminal to ask for the password on: pass --password-stdin and pipe it in', EXIT_CONFIG);
  const first = await promptHidden('password: ');
  const again = await promptHidden('again: ');
  if (first !== again) refuse('the two passwords differ');
  return first;
}

async function openUsers(configFile: string | undefined) {
  let config;
  try {
    config = loadHubConfig(configFile);
  } catch (err) {
    exitOnConfigError(err);
  }
  const { HubStore } = await import('../hub/index.js');
  const { UserStore, passwordProblem } = await import('../hub/auth/index.js');
  const store = new HubStore(join(config.storage.dataDir, 'hub.db'));
  return { store, users: new UserStore(store.sqlite()), passwordProblem };
}

const configFile = (cmd: Command): string | undefined => cmd.optsWithGlobals<{ config?: string }>().config;

export function hubUserCommand(): Command {
  const add = new Command('add')
    .description('add a user with a role')
    .argument('<name>', 'login name')
    .addOption(new Option('--role <role>', 'what the user may do').choices(ROLE_CHOICES).makeOptionMandatory())
    .option('--password-stdin', 'read the password from the first line of stdin')
    .option('-c, --config <file>', 'hub config file (YAML); without one, embedded defaults are used')
    .action(async (name: string, o: { role: string; passwordStdin?: boolean }, cmd: Command) => {
      if (!NAME.test(name)) refuse(`'${name}' is not a usable name: 1-64 letters, digits, '_', '.', '@', '-'`);
      const { store, users, passwordProblem } = await openUsers(configFile(cmd));
      try {
        if (users.byName(name)) refuse(`a user '${name}' exists already (use passwd to change the password)`);
        const pw = await password(o.passwordStdin);
        const problem = passwordProblem(pw);
        if (problem) refuse(problem);
        await users.add(name, o.role as 'viewer', pw, Date.now());
        process.stdout.write(`added ${name} (${o.role})\n`);
      } finally {
        store.close();
      }
    });
  const passwd = new Command('passwd')
    .description("set a user's password; ends their sessions and lifts a lockout")
    .argument('<name>', 'login name')
    .option('--password-stdin', 'read the password from the first line of stdin')
    .option('-c, --config <file>', 'hub config file (YAML); without one, embedded defaults are used')
    .action(async (name: string, o: { passwordStdin?: boolean }, cmd: Command) => {
      const { store, users, passwordProblem } = await openUsers(configFile(cmd));
      try {
        if (!users.byName(name)) refuse(`no user '${name}'`);
        const pw = await password(o.passwordStdin);
        const problem = passwordProblem(pw);
        if (problem) refuse(problem);
        await users.setPassword(name, pw, Date.now());
        process.stdout.write(`password of ${name} changed\n`);
      } finally {
        store.close();
      }
    });
  const disable = new Command('disable')
    .description('disable a user: no more logins, their sessions end')
    .argument('<name>', 'login name')
    .option('-c, --config <file>', 'hub config file (YAML); without one, embedded defaults are used')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const { store, users } = await openUsers(configFile(cmd));
      try {
        if (!users.disable(name, Date.now())) refuse(`no user '${name}'`);
        process.stdout.write(`disabled ${name}\n`);
      } finally {
        store.close();
      }
    });
  return new Command('user').description("the hub's users: who may log in to the API and console, and with which role").addCommand(add).addCommand(passwd).addCommand(disable);
}
