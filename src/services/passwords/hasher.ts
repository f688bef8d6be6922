// Passwords: argon2id with at least OWASP parameters, hashed on libuv's thread pool
// (off the event loop), at most PASSWORD_HASH_CONCURRENCY at once (default: the cores; libuv's
// four threads would run four 19 MiB hashes on two cores, adding memory and contention, not
// throughput). Unknown users are verified against a dummy hash of the same cost so that they
// take the same time as known ones (no account enumeration).
import { randomBytes } from 'node:crypto';
import { Algorithm, hash as argonHash, verify as argonVerify } from '@node-rs/argon2';
import pLimit from 'p-limit';
import type { Config } from '../../config.js';

export interface PasswordCheck {
  ok: boolean;
  /** The stored hash uses other parameters than the configured ones: store a new one. */
  needsRehash: boolean;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** `stored` null (unknown user, or no password set) still costs one full verification. */
  verify(stored: string | null, password: string): Promise<PasswordCheck>;
}

export function createPasswordHasher(params: Config['password']): PasswordHasher {
  const { concurrency, ...argon } = params;
  const options = { algorithm: Algorithm.Argon2id, ...argon };
  const slot = pLimit(concurrency);
  const hash = (password: string, o: typeof options) => slot(() => argonHash(password, o));
  const verify = (stored: string, password: string) => slot(() => argonVerify(stored, password));
  const expected = `$argon2id$v=19$m=${params.memoryCost},t=${params.timeCost},p=${params.parallelism}$`;
  // Unicode passwords hash the same however the client composed them (NFC).
  const hashPassword = (password: string) => hash(password.normalize('NFC'), options);
  let dummy: Promise<string> | undefined;

  return {
    hash: hashPassword,
    async verify(stored, password) {
      if (stored === null) {
        dummy ??= hashPassword(randomBytes(16).toString('hex'));
        await verify(await dummy, password).catch(() => false);
        return { ok: false, needsRehash: false };
      }
      let ok: boolean;
      try {
        ok = await verify(stored, password.normalize('NFC'));
      } catch {
        // A corrupt stored hash must not become a 500 that tells the account exists.
        ok = false;
      }
      return { ok, needsRehash: ok && !stored.startsWith(expected) };
    },
  };
}

/** The same hasher, reporting each hash and verify duration (for the metrics). */
export function timedPasswordHasher(inner: PasswordHasher, observe: (kind: 'hash' | 'verify', seconds: number) => void): PasswordHasher {
  const timed = async <T>(kind: 'hash' | 'verify', run: () => Promise<T>): Promise<T> => {
    const started = process.hrtime.bigint();
    try {
      return await run();
    } finally {
      observe(kind, Number(process.hrtime.bigint() - started) / 1e9);
    }
  };
  return {
    hash: (password) => timed('hash', () => inner.hash(password)),
    verify: (stored, password) => timed('verify', () => inner.verify(stored, password)),
  };
}
