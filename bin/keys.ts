/**
 * `gridos keys init | generate | rotate-root`: the signing keys of the policy repository.
 * Root and targets keys are offline keys: they sign a root or a policy release in a ceremony,
 * then go back on their owners' media. Snapshot, timestamp and assignment keys stay on the hub.
 */
import { Command, Option } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { intOption } from './options.js';
import { collect, fail, failOnRegistryError, ONLINE_KEY_NAMES, privateKeyFile, requireFiles } from './tuf-cli.js';

interface InitOptions {
  keys: string;
  repo: string;
  rootKeys: number;
  rootThreshold: number;
  targetsKeys: number;
  targetsThreshold: number;
}

const count = () => intOption(1, 15);

function initCommand(): Command {
  return new Command('init')
    .description('generate ed25519 keys (root-1..n, targets-1..n offline; snapshot, timestamp, assignment online) and create the repository: root v1 signed by the root threshold')
    .requiredOption('--keys <dir>', 'folder to write the key files into (<name>.key.pem private, <name>.pub.pem public)')
    .requiredOption('--repo <dir>', 'folder of the new TUF repository (must not hold one)')
    .addOption(new Option('--root-keys <n>', 'number of root keys').argParser(count()).default(3))
    .addOption(new Option('--root-threshold <k>', 'root keys needed to sign a root').argParser(count()).default(2))
    .addOption(new Option('--targets-keys <n>', 'number of targets (policy owner) keys').argParser(count()).default(3))
    .addOption(new Option('--targets-threshold <k>', 'targets keys needed to release a policy').argParser(count()).default(2))
    .action(async (o: InitOptions) => {
      const { generateKeyFiles, initRepository, loadPublicKey, loadSigningKey } = await import('../hub/registry/index.js');
      if (o.rootThreshold > o.rootKeys) fail('keys init', `--root-threshold ${o.rootThreshold} is above --root-keys ${o.rootKeys}`);
      if (o.targetsThreshold > o.targetsKeys) fail('keys init', `--targets-threshold ${o.targetsThreshold} is above --targets-keys ${o.targetsKeys}`);
      if (existsSync(join(o.repo, 'metadata', '1.root.json'))) fail('keys init', `HUB_TUF_REPO_EXISTS: ${o.repo} already holds a TUF repository; rotate its root instead (gridos keys rotate-root)`, 1);
      const names = [...range(o.rootKeys).map((i) => `root-${i}`), ...range(o.targetsKeys).map((i) => `targets-${i}`), ...ONLINE_KEY_NAMES];
      const taken = names.filter((n) => existsSync(privateKeyFile(o.keys, n)));
      if (taken.length > 0) fail('keys init', `${o.keys} already holds ${taken.map((n) => `${n}.key.pem`).join(', ')}; use an empty folder`);
      try {
        const files = new Map(names.map((n) => [n, generateKeyFiles(o.keys, n)]));
        const pub = (n: string) => loadPublicKey(files.get(n)!.publicKeyFile);
        const roles = {
          root: { keys: range(o.rootKeys).map((i) => pub(`root-${i}`)), threshold: o.rootThreshold },
          targets: { keys: range(o.targetsKeys).map((i) => pub(`targets-${i}`)), threshold: o.targetsThreshold },
          snapshot: { keys: [pub('snapshot')], threshold: 1 },
          timestamp: { keys: [pub('timestamp')], threshold: 1 },
          assignment: { keys: [pub('assignment')], threshold: 1 },
        };
        const signers = range(o.rootThreshold).map((i) => loadSigningKey(files.get(`root-${i}`)!.privateKeyFile));
        initRepository(o.repo, roles, signers);
        const lines = [`created ${join(o.repo, 'metadata', '1.root.json')}: root ${o.rootThreshold} of ${o.rootKeys}, targets ${o.targetsThreshold} of ${o.targetsKeys}`, `keys in ${o.keys}:`];
        for (const [n, f] of files) lines.push(`  ${n.padEnd(12)} ${f.keyId.slice(0, 16)}...  ${n.startsWith('root-') || n.startsWith('targets-') ? 'offline' : 'online (hub)'}`);
        lines.push(`give each edge ${join(o.repo, 'metadata', '1.root.json')} at installation (gridos bundle import --root ...)`);
        process.stdout.write(lines.join('\n') + '\n');
        process.stderr.write(
          'WARNING: root-*.key.pem and targets-*.key.pem are OFFLINE keys. Move each to its owner\'s offline media now and delete it here;\n' +
            '         only snapshot, timestamp and assignment keys belong on the hub.\n',
        );
      } catch (err) {
        failOnRegistryError('keys init', err);
      }
    });
}

function generateCommand(): Command {
  return new Command('generate')
    .description('generate more ed25519 key pairs, e.g. new root keys before a rotation')
    .requiredOption('--keys <dir>', 'folder to write the key files into')
    .argument('<name...>', 'key names, e.g. root-4 (writes root-4.key.pem and root-4.pub.pem)')
    .action(async (names: string[], o: { keys: string }) => {
      const { generateKeyFiles } = await import('../hub/registry/index.js');
      const bad = names.filter((n) => !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(n));
      if (bad.length > 0) fail('keys generate', `not a key name: ${bad.join(', ')} (letters, digits, '_', '.', '-')`);
      try {
        for (const n of names) {
          const f = generateKeyFiles(o.keys, n);
          process.stdout.write(`${n}: ${f.keyId}  ${f.privateKeyFile}  ${f.publicKeyFile}\n`);
        }
      } catch (err) {
        failOnRegistryError('keys generate', err);
      }
    });
}

function rotateRootCommand(): Command {
  return new Command('rotate-root')
    .description('write root v+1 with new root keys, signed by the current root threshold AND the new one (a key in both counts for both)')
    .requiredOption('--repo <dir>', 'the TUF repository')
    .requiredOption('--sign <key.pem>', 'a private root key signing this rotation (old or new); repeat', collect)
    .requiredOption('--new-root-key <pub.pem>', 'a public key of the new root role; repeat for each', collect)
    .addOption(new Option('--threshold <k>', 'root keys the new root needs (default: the current threshold)').argParser(count()))
    .addHelpText('after', '\nOther roles (targets, snapshot, timestamp, assignment) carry over unchanged. Edges walk every root\nversion in order, so export every root version (gridos bundle export does).')
    .action(async (o: { repo: string; sign: string[]; newRootKey: string[]; threshold?: number }) => {
      const { loadPublicKey, loadSigningKey, rolesOf, rotateRoot } = await import('../hub/registry/index.js');
      requireFiles('keys rotate-root', [...o.sign, ...o.newRootKey]);
      try {
        const roles = rolesOf(o.repo);
        const threshold = o.threshold ?? roles.root.threshold;
        const { rootVersion } = rotateRoot(o.repo, { ...roles, root: { keys: o.newRootKey.map(loadPublicKey), threshold } }, o.sign.map(loadSigningKey));
        process.stdout.write(`wrote ${join(o.repo, 'metadata', `${rootVersion}.root.json`)}: root v${rootVersion}, ${threshold} of ${o.newRootKey.length} keys\n`);
      } catch (err) {
        failOnRegistryError('keys rotate-root', err);
      }
    });
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

export function keysCommand(): Command {
  return new Command('keys')
    .description('signing keys of the policy repository: create them with the repository, add more, rotate root')
    .addCommand(initCommand())
    .addCommand(generateCommand())
    .addCommand(rotateRootCommand());
}
