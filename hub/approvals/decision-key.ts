/**
 * The hub's decision key: ed25519, a PKCS#8 PEM file in the hub's data dir (mode 0600), created
 * on first start. Edges trust its public half (GET /api/decision-key) to verify decisions.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { decisionKeyId } from '../../protocols/index.js';
import { tufPublicKey } from '../../protocols/tuf/index.js';

export interface DecisionKey {
  privateKey: KeyObject;
  keyId: string;
  publicKeyHex: string;
  publicKeyPem: string;
}

export function loadOrCreateDecisionKey(path: string): DecisionKey {
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
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new TypeError(`${path}: the hub's decision key must be ed25519, found ${privateKey.asymmetricKeyType}`);
  return {
    privateKey,
    keyId: decisionKeyId(privateKey),
    publicKeyHex: tufPublicKey(privateKey).publicKeyHex,
    publicKeyPem: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString(),
  };
}
