/**
 * An ed25519 private key kept in a PKCS#8 PEM file (mode 0600), created on first use: the hub's
 * decision key and each edge's audit key. Two processes starting at once end up with the same key
 * (the file is created exclusively; the loser reads the winner's).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { tufPublicKey } from './tuf/keys.js';

/** A signing key and how its public half is named and handed out. */
export interface Ed25519KeyFile {
  privateKey: KeyObject;
  /** TUF key id (sha256 hex) of the public key: what signatures carry. */
  keyId: string;
  publicKeyHex: string;
  /** SPKI PEM of the public key: what an operator registers at the other end. */
  publicKeyPem: string;
}

/** The key in `path`, created there when the file does not exist; `what` names it in errors ("the hub's decision key"). */
export function loadOrCreateEd25519Key(path: string, what: string): Ed25519KeyFile {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    mkdirSync(dirname(path), { recursive: true });
    const { privateKey } = generateKeyPairSync('ed25519');
    pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    try {
      writeFileSync(path, pem, { mode: 0o600, flag: 'wx' });
    } catch (w) {
      if ((w as NodeJS.ErrnoException).code !== 'EEXIST') throw w;
      pem = readFileSync(path, 'utf8'); // another process created it first
    }
  }
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new TypeError(`${path}: ${what} must be ed25519, found ${privateKey.asymmetricKeyType}`);
  const { keyId, publicKeyHex } = tufPublicKey(privateKey);
  return { privateKey, keyId, publicKeyHex, publicKeyPem: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString() };
}
