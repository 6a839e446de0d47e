/**
 * The edges' audit keys the hub trusts, from hub config `audit.edgeKeys: { <edgeId>: <PEM file> }`
 * (the public key `gridos audit key` prints at the edge; a private PEM works too, only its public
 * half is kept). A file that cannot be read or is not an ed25519 key fails the hub's start with a
 * ConfigError naming the key.
 */
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, type ConfigProblem } from '../../config/index.js';
import { tufPublicKey } from '../../protocols/tuf/index.js';
import type { EdgeAuditKey } from './judge.js';

export function loadEdgeAuditKeys(edgeKeys: Readonly<Record<string, string>>, origin = 'hub config'): Map<string, EdgeAuditKey> {
  const keys = new Map<string, EdgeAuditKey>();
  const problems: ConfigProblem[] = [];
  for (const [edgeId, file] of Object.entries(edgeKeys)) {
    const key = `audit.edgeKeys.${edgeId}`;
    try {
      const publicKey = createPublicKey(readFileSync(file, 'utf8'));
      if (publicKey.asymmetricKeyType !== 'ed25519') {
        problems.push({ origin, key, message: `expected an ed25519 public key (PEM), ${file} holds a ${publicKey.asymmetricKeyType} key` });
        continue;
      }
      keys.set(edgeId, { key: publicKey, keyId: tufPublicKey(publicKey).keyId });
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
      problems.push({ origin, key, message: `expected the edge's public key as a PEM file (gridos audit key at the edge prints it), cannot read ${file}: ${why}` });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return keys;
}
