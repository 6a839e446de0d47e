/**
 * ed25519 keys as TUF 1.0 names them: `{ keytype: "ed25519", scheme: "ed25519", keyval: { public:
 * <64 hex chars> } }`, identified by the sha256 of that object's canonical JSON (the key id).
 * Hub and edge both use these helpers so that a key id means the same on both sides.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';

/** A public key as the trust documents carry it. */
export interface TufPublicKey {
  keyId: string;
  /** The raw 32-byte ed25519 public key, lowercase hex. */
  publicKeyHex: string;
}

/** The TUF JSON form of an ed25519 public key. */
export function tufKeyJson(publicKeyHex: string): { keytype: 'ed25519'; scheme: 'ed25519'; keyval: { public: string } } {
  return { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: publicKeyHex } };
}

/** The TUF key id: lowercase hex sha256 of the key's canonical JSON. */
export function tufKeyId(publicKeyHex: string): string {
  return createHash('sha256').update(canonicalJson(tufKeyJson(publicKeyHex))).digest('hex');
}

/** The raw public key of an ed25519 KeyObject (public or private), as hex. */
export function ed25519PublicKeyHex(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.asymmetricKeyType !== 'ed25519') throw new TypeError(`expected an ed25519 key, got ${pub.asymmetricKeyType ?? key.type}`);
  const x = pub.export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new TypeError('ed25519 key without a public part');
  return Buffer.from(x, 'base64url').toString('hex');
}

/** The TufPublicKey of an ed25519 KeyObject. */
export function tufPublicKey(key: KeyObject): TufPublicKey {
  const publicKeyHex = ed25519PublicKeyHex(key);
  return { keyId: tufKeyId(publicKeyHex), publicKeyHex };
}

/** A node:crypto public key from 64 hex characters; throws a TypeError on anything else. */
export function publicKeyFromHex(publicKeyHex: string): KeyObject {
  if (!/^[0-9a-f]{64}$/.test(publicKeyHex)) throw new TypeError('expected an ed25519 public key of 64 lowercase hex characters');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKeyHex, 'hex').toString('base64url') }, format: 'jwk' });
}
