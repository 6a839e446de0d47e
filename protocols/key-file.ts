/**
 * An ed25519 private key kept in a PKCS#8 PEM file (mode 0600), created on first use: the hub's
 * decision key and each edge's audit key. The key is written to a temporary file, fsynced, and
 * then hard-linked into place (the link fails if the file exists), so the file is never seen
 * empty or half written, by a concurrent reader or after a power cut; two processes starting at
 * once end up with the same key (the loser reads the winner's).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
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
    const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      writeDurably(temp, pem);
      try {
        linkSync(temp, path);
        fsyncDirectory(dirname(path));
      } catch (w) {
        if ((w as NodeJS.ErrnoException).code !== 'EEXIST') throw w;
        pem = readFileSync(path, 'utf8'); // another process created it first
      }
    } finally {
      try {
        unlinkSync(temp);
      } catch {
        // already gone: nothing to clean
      }
    }
  }
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new TypeError(`${path}: ${what} must be ed25519, found ${privateKey.asymmetricKeyType}`);
  const { keyId, publicKeyHex } = tufPublicKey(privateKey);
  return { privateKey, keyId, publicKeyHex, publicKeyPem: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString() };
}

/** Writes `text` to a new file (0600) and fsyncs it. */
function writeDurably(path: string, text: string): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes a new directory entry durable (a no-op where directories cannot be opened, e.g. Windows). */
function fsyncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // best effort: the file itself is already on disk
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
