/**
 * The demo's signed policy delivery, done the real way with the hub's registry library: demo
 * signing keys and a TUF repository in the demo's data dir (created on first run), the demo
 * policy released as a target (when its id and version are new), snapshot and timestamp
 * published, and one signed assignment per edge. The hub serves the repository at /tuf/; edges
 * fetch from there and trust only the root v1 returned here.
 *
 * Input: the folder, the policy file, the edges. Output: the repository and the root to trust.
 * State: files under `dir` (keys/, tuf/). Errors from the registry (HubTufError) propagate.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface DemoRegistry {
  /** The TUF repository the hub serves (`registry.dir`). */
  repoDir: string;
  /** Root v1: what each edge is provisioned with (`policy.trustedRoot`). */
  trustedRoot: string;
  /** The policy target assigned to the edges, e.g. `policies/demo-peak-shaving/1.yaml`. */
  policyTarget: string;
  /** True when this run created the keys and the repository. */
  created: boolean;
  /** True when this run released the policy (a new id or version). */
  released: boolean;
}

/** Roles and their demo key names: one key each (a real repository spreads root and targets over k-of-n offline keys). */
const KEY_NAMES = ['root-1', 'targets-1', 'snapshot', 'timestamp', 'assignment'] as const;

export async function prepareDemoRegistry(dir: string, policyFile: string, edges: readonly { edgeId: string; siteId: string }[]): Promise<DemoRegistry> {
  const { HubTufError, addTargets, generateKeyFiles, initRepository, issueAssignment, loadPublicKey, loadSigningKey, policyTargetFromFile, publish, repositoryStatus } = await import('../hub/registry/index.js');
  const keysDir = join(dir, 'keys');
  const repoDir = join(dir, 'tuf');
  const trustedRoot = join(repoDir, 'metadata', '1.root.json');
  const keyFile = (name: string) => join(keysDir, `${name}.key.pem`);
  const pubFile = (name: string) => join(keysDir, `${name}.pub.pem`);

  const created = !existsSync(trustedRoot);
  if (created) {
    for (const name of KEY_NAMES) if (!existsSync(keyFile(name))) generateKeyFiles(keysDir, name);
    const role = (name: string) => ({ keys: [loadPublicKey(pubFile(name))], threshold: 1 });
    initRepository(repoDir, { root: role('root-1'), targets: role('targets-1'), snapshot: role('snapshot'), timestamp: role('timestamp'), assignment: role('assignment') }, [loadSigningKey(keyFile('root-1'))]);
  }

  const target = policyTargetFromFile(policyFile);
  const held = repositoryStatus(repoDir).targetFiles.find((t) => t.name === target.target);
  // A released version never changes: an edited file under the same version is refused, as the registry would.
  if (held && held.sha256 !== createHash('sha256').update(target.bytes).digest('hex')) {
    throw new HubTufError('HUB_TUF_TARGET_CHANGED', `${policyFile}: ${target.target} was released with other content; raise \`version\` in the file to release the change`);
  }
  if (!held) addTargets(repoDir, { add: [target] }, [loadSigningKey(keyFile('targets-1'))]);
  // Every run publishes afresh: the timestamp expires after a day, and an edge judges expiry on its own clock.
  publish(repoDir, { snapshot: [loadSigningKey(keyFile('snapshot'))], timestamp: [loadSigningKey(keyFile('timestamp'))] });
  const assignmentKey = loadSigningKey(keyFile('assignment'));
  for (const e of edges) issueAssignment(repoDir, { edgeId: e.edgeId, siteId: e.siteId, policy: target.target, models: [] }, [assignmentKey]);
  return { repoDir, trustedRoot, policyTarget: target.target, created, released: !held };
}
