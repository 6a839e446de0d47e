/**
 * Password hashing with scrypt (node:crypto): a random 16-byte salt per password, a 64-byte key,
 * compared in constant time. The parameters are stored with the hash so they can be raised later.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const KEY_BYTES = 64;
const PARAMS: ScryptOptions = { N: 16_384, r: 8, p: 1 };

export interface PasswordHash {
  /** `scrypt$N$r$p$<hex key>` */
  hash: string;
  /** hex */
  salt: string;
}

function derive(password: string, salt: Buffer, o: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, KEY_BYTES, { ...o, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))));
}

export async function hashPassword(password: string): Promise<PasswordHash> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, PARAMS);
  return { hash: `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${key.toString('hex')}`, salt: salt.toString('hex') };
}

export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const [scheme, n, r, p, hex] = stored.hash.split('$');
  if (scheme !== 'scrypt' || hex === undefined) return false;
  const expected = Buffer.from(hex, 'hex');
  const key = await derive(password, Buffer.from(stored.salt, 'hex'), { N: Number(n), r: Number(r), p: Number(p) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash nobody's password matches: verified against when the user is unknown, so timing does not tell. */
export const DUMMY_HASH: PasswordHash = { hash: `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${'00'.repeat(KEY_BYTES)}`, salt: '00'.repeat(16) };

/** Rejects passwords too short to be worth hashing; the message says what to do. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < 10) return 'a password needs at least 10 characters';
  if (password.length > 1024) return 'a password may have at most 1024 characters';
  return undefined;
}
