// TOTP (RFC 6238: SHA-1, 6 digits, 30 s, one step either side) with otpauth. Secrets have 160
// bits and are sealed at rest under a key of their own derived from SECRET_KEY; a code is
// accepted once per factor on any instance: the last accepted time step is stored and only a
// later step may replace it (compare-and-set).
import { randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import type { Config } from '../../config.js';
import type { EntityManager } from '../../db/orm.js';
import { derivedKey, keyedHash, seal, unseal } from '../shared/secrets.js';

export const TOTP_PERIOD_SECONDS = 30;

const totpKey = (config: Pick<Config, 'secretKey'>) => derivedKey(config.secretKey, 'mfa-totp v1');

export const newTotpSecret = () => new Secret({ buffer: randomBytes(20).buffer as ArrayBuffer }).base32;
export const sealSecret = (config: Pick<Config, 'secretKey'>, base32: string) => seal(totpKey(config), base32);
export const openSecret = (config: Pick<Config, 'secretKey'>, sealed: string) => unseal(totpKey(config), sealed);

const totpOf = (base32: string, issuer = '', label = '') =>
  new TOTP({ issuer, label, algorithm: 'SHA1', digits: 6, period: TOTP_PERIOD_SECONDS, secret: Secret.fromBase32(base32) });

export const otpauthUri = (base32: string, issuer: string, account: string) => totpOf(base32, issuer, account).toString();

/** The time step a code belongs to (now, or one step either side), or undefined when it matches none. */
export function matchingStep(base32: string, code: string, now: Date): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const delta = totpOf(base32).validate({ token: code, timestamp: now.getTime(), window: 1 });
  return delta === null ? undefined : Math.floor(now.getTime() / 1000 / TOTP_PERIOD_SECONDS) + delta;
}

/**
 * Take a time step of a factor: only a step later than the last accepted one, and the update is
 * conditional on that, so the same code replayed (here or on another instance) finds the step
 * taken. Answers whether the step was taken.
 */
export async function takeTotpStep(em: EntityManager, factorId: string, step: number): Promise<boolean> {
  const updated = await em.execute('update mfa_factors set last_step = ? where id = ? and (last_step is null or last_step < ?) returning id', [step, factorId, step]);
  return (updated as unknown[]).length === 1;
}

/** Accept a TOTP code for a factor once (matchingStep, then takeTotpStep). */
export async function acceptTotp(em: EntityManager, config: Pick<Config, 'secretKey'>, factor: { id: string; secret: string }, code: string, now: Date): Promise<boolean> {
  const step = matchingStep(openSecret(config, factor.secret), code, now);
  return step !== undefined && takeTotpStep(em, factor.id, step);
}

// Recovery codes: 10 of 12 characters (60 bits) from an alphabet without look-alikes, shown
// as xxxx-xxxx-xxxx; stored only as keyed hashes of their normal form.
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
export const RECOVERY_CODES = 10;

export function newRecoveryCode(): string {
  let out = '';
  for (const b of randomBytes(24)) if (b < 248 - (248 % ALPHABET.length) && out.length < 12) out += ALPHABET[b % ALPHABET.length];
  while (out.length < 12) out += ALPHABET[randomBytes(1)[0] % ALPHABET.length];
  return `${out.slice(0, 4)}-${out.slice(4, 8)}-${out.slice(8)}`;
}

export const recoveryCodeHash = (config: Pick<Config, 'secretKey'>, code: string) =>
  keyedHash(config.secretKey, `mfa-recovery\u0000${code.toLowerCase().replace(/[\s-]/g, '')}`);
