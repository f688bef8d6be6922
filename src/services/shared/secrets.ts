// Opaque secrets (refresh tokens, API keys, mailed tokens): high-entropy random strings stored
// only as a keyed hash (HMAC-SHA256 with SECRET_KEY), so a database dump alone cannot
// be replayed.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export function newOpaqueToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function keyedHash(secretKey: string, value: string): string {
  return createHmac('sha256', secretKey).update(value, 'utf8').digest('base64url');
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
