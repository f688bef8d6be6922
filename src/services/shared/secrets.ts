// Opaque secrets (refresh tokens, API keys, mailed tokens): high-entropy random strings stored
// only as a keyed hash (HMAC-SHA256 with SECRET_KEY), so a database dump alone cannot
// be replayed.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

export function newOpaqueToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * Whether a presented value has the shape of `newOpaqueToken()` (32 bytes, base64url): refresh,
 * mfa and mailed tokens are checked with it before any lookup.
 */
export const isOpaqueToken = (value: string): boolean => /^[A-Za-z0-9_-]{43}$/.test(value);

export function keyedHash(secretKey: string, value: string): string {
  return createHmac('sha256', secretKey).update(value, 'utf8').digest('base64url');
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Keys derived so far: hot paths (the provider's storage, its clients, webhook deliveries) ask for the same few again and again. */
const derived = new Map<string, Buffer>();

/** A 256-bit key of its own for each use of SECRET_KEY (HKDF-SHA256, the label as info), derived once. */
export function derivedKey(secretKey: string, label: string): Buffer {
  const id = `${label}\u0000${secretKey}`;
  let key = derived.get(id);
  if (!key) {
    key = Buffer.from(hkdfSync('sha256', secretKey, Buffer.alloc(0), `auth-gateway ${label}`, 32));
    derived.set(id, key);
  }
  return key;
}

/** AES-256-GCM: a random 96-bit IV, the ciphertext and the tag, as one base64url string. */
export function seal(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

/** The plaintext of `seal`; throws when the sealed value was altered or sealed under another key. */
export function unseal(key: Buffer, sealed: string): string {
  const raw = Buffer.from(sealed, 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(raw.length - 16));
  return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
}
