/**
 * `gridos policy sign | publish | assign`, the hub side of signed policy distribution:
 *   sign     a policy file becomes target policies/<id>/<version>.yaml in targets v+1 (offline targets keys, k of n)
 *   publish  snapshot v+1 and timestamp v+1 with the hub's online keys, so edges see the release
 *   assign   a signed per-edge assignment: which policy (and models) one edge runs
 */
import { Command } from 'commander';
import { collect, failOnRegistryError, idOption, privateKeyFile, requireFiles } from './tuf-cli.js';

export function policySignCommand(): Command {
  return new Command('sign')
    .description('release a policy file as a target (targets v+1), signed by targets keys: refused unless they meet the threshold')
    .requiredOption('--repo <dir>', 'the TUF repository')
    .requiredOption('--policy <file.yaml>', 'the policy file (must validate; its id and version name the target)')
    .requiredOption('--key <targets-key.pem>', 'a private targets key; repeat for each signer', collect)
    .addHelpText('after', '\nThen: gridos policy publish --repo <dir> --keys <dir>')
    .action(async (o: { repo: string; policy: string; key: string[] }) => {
      const { addTargets, loadSigningKey, policyTargetFromFile } = await import('../hub/registry/index.js');
      requireFiles('policy sign', [o.policy, ...o.key]);
      try {
        const target = policyTargetFromFile(o.policy);
        const { targetsVersion } = addTargets(o.repo, { add: [target] }, o.key.map(loadSigningKey));
        process.stdout.write(`signed ${target.target} into targets v${targetsVersion} (${o.key.length} key(s)); not yet visible to edges: run gridos policy publish\n`);
      } catch (err) {
        failOnRegistryError('policy sign', err);
      }
    });
}

export function policyPublishCommand(): Command {
  return new Command('publish')
    .description("publish the newest targets: snapshot v+1 and timestamp v+1, signed with the hub's online keys")
    .requiredOption('--repo <dir>', 'the TUF repository')
    .requiredOption('--keys <dir>', 'folder holding snapshot.key.pem and timestamp.key.pem')
    .action(async (o: { repo: string; keys: string }) => {
      const { loadSigningKey, publish } = await import('../hub/registry/index.js');
      const files = { snapshot: privateKeyFile(o.keys, 'snapshot'), timestamp: privateKeyFile(o.keys, 'timestamp') };
      requireFiles('policy publish', Object.values(files));
      try {
        const r = publish(o.repo, { snapshot: [loadSigningKey(files.snapshot)], timestamp: [loadSigningKey(files.timestamp)] });
        process.stdout.write(`published targets v${r.targetsVersion}: snapshot v${r.snapshotVersion}, timestamp v${r.timestampVersion}\n`);
      } catch (err) {
        failOnRegistryError('policy publish', err);
      }
    });
}

export function policyAssignCommand(): Command {
  return new Command('assign')
    .description("sign an assignment for one edge (assignments/<site>/<edge>.json) with the hub's online assignment key")
    .requiredOption('--repo <dir>', 'the TUF repository')
    .requiredOption('--keys <dir>', 'folder holding assignment.key.pem')
    .requiredOption('--site <id>', "the edge's site (edge.site in its config)", idOption)
    .requiredOption('--edge <id>', 'the edge (edge.id in its config)', idOption)
    .requiredOption('--policy <target>', 'a released policy target, e.g. policies/north-feeders/7.yaml')
    .option('--model <target>', 'a released model target (model.onnx and card.json each); repeat', collect)
    .action(async (o: { repo: string; keys: string; site: string; edge: string; policy: string; model?: string[] }) => {
      const { issueAssignment, loadSigningKey } = await import('../hub/registry/index.js');
      const keyFile = privateKeyFile(o.keys, 'assignment');
      requireFiles('policy assign', [keyFile]);
      try {
        const a = issueAssignment(o.repo, { siteId: o.site, edgeId: o.edge, policy: o.policy, models: o.model ?? [] }, [loadSigningKey(keyFile)]);
        process.stdout.write(`assigned ${a.signed.policy.target} to ${o.site}/${o.edge}: assignment v${a.signed.version}, expires ${a.signed.expires}\n`);
      } catch (err) {
        failOnRegistryError('policy assign', err);
      }
    });
}
