/**
 * Signing keys as PEM files: ed25519, private key PKCS#8 (`<name>.key.pem`, mode 0600), public key
 * SPKI (`<name>.pub.pem`). Offline keys (root, targets) live on their owners' media and are loaded
 * only for a signing ceremony; online keys (snapshot, timestamp, assignment) on the hub.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tufPublicKey, type TufPublicKey } from '../../protocols/tuf/index.js';
import { HubTufError } from './errors.js';

/** A key that can sign: its public identity plus the private key. */
export interface SigningKey extends TufPublicKey {
  privateKey: KeyObject;
}

export interface KeyFiles {
  keyId: string;
  privateKeyFile: string;
  publicKeyFile: string;
}

/** Generates an ed25519 key pair into `<dir>/<name>.key.pem` and `<dir>/<name>.pub.pem`. */
export function generateKeyFiles(dir: string, name: string): KeyFiles {
  mkdirSync(dir, { recursive: true });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privateKeyFile = join(dir, `${name}.key.pem`);
  const publicKeyFile = join(dir, `${name}.pub.pem`);
  writeFileSync(privateKeyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  writeFileSync(publicKeyFile, publicKey.export({ format: 'pem', type: 'spki' }), { flag: 'wx' });
  return { keyId: tufPublicKey(publicKey).keyId, privateKeyFile, publicKeyFile };
}

function asEd25519(file: string, load: () => KeyObject): KeyObject {
  let key: KeyObject;
  try {
    key = load();
  } catch (e) {
    throw new HubTufError('HUB_TUF_BAD_KEY', `${file}: not a PEM key (${(e as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new HubTufError('HUB_TUF_BAD_KEY', `${file}: expected an ed25519 key, got ${key.asymmetricKeyType ?? 'unknown'}`);
  return key;
}

/** Loads a private key PEM file for signing. */
export function loadSigningKey(file: string): SigningKey {
  const privateKey = asEd25519(file, () => createPrivateKey(readFileSync(file)));
  return { ...tufPublicKey(privateKey), privateKey };
}

/** Loads a public key (or the public half of a private key) PEM file. */
export function loadPublicKey(file: string): TufPublicKey {
  const text = readFileSync(file);
  const key = asEd25519(file, () => (text.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(text)) : createPublicKey(text)));
  return tufPublicKey(key);
}
