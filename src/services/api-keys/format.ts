// The API-key format: `agk_` + 32 random base62 characters (190 bits) + a 6-character
// base62 CRC32 of everything before it. The fixed prefix lets secret scanners find leaked
// keys; the checksum rejects a mistyped key before any database lookup.
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const API_KEY_PREFIX = 'agk_';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_CHARS = 32;
const CHECKSUM_CHARS = 6;
const API_KEY_FORMAT = new RegExp(`^${API_KEY_PREFIX}[0-9A-Za-z]{${RANDOM_CHARS + CHECKSUM_CHARS}}$`);
/** Lists show the first characters: the prefix and 8 random ones. */
export const DISPLAY_CHARS = API_KEY_PREFIX.length + 8;

function randomBase62(n: number): string {
  let out = '';
  while (out.length < n) {
    for (const b of randomBytes(n * 2)) {
      // 248 = 4 * 62: rejection sampling keeps every character uniform.
      if (b < 248 && out.length < n) out += BASE62[b % 62];
    }
  }
  return out;
}

function checksum(body: string): string {
  let n = crc32(body);
  let out = '';
  for (let i = 0; i < CHECKSUM_CHARS; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

export function generateApiKey(): string {
  const body = API_KEY_PREFIX + randomBase62(RANDOM_CHARS);
  return body + checksum(body);
}

/** Shape and checksum: a typo is caught here, without a database lookup. */
export function isWellFormedApiKey(key: string): boolean {
  return API_KEY_FORMAT.test(key) && checksum(key.slice(0, -CHECKSUM_CHARS)) === key.slice(-CHECKSUM_CHARS);
}

export const looksLikeApiKey = (credential: string) => credential.startsWith(API_KEY_PREFIX);
