// TOTP is RFC 6238: the Appendix B test vectors (SHA-1), our 6-digit codes match the step either side and no other, and recovery codes are 60 random bits compared in normal form.
import { Secret, TOTP } from 'otpauth';
import { describe, expect, it } from 'vitest';
import { matchingStep, newRecoveryCode, newTotpSecret, recoveryCodeHash, TOTP_PERIOD_SECONDS } from '../../src/services/mfa/totp.js';

// RFC 6238 Appendix B, SHA-1 rows: the seed is the ASCII string "12345678901234567890", 8 digits.
const VECTORS: Array<[number, string]> = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

describe('TOTP', () => {
  const rfc = new TOTP({ algorithm: 'SHA1', digits: 8, period: 30, secret: Secret.fromLatin1('12345678901234567890') });
  for (const [t, code] of VECTORS) {
    it(`RFC 6238 Appendix B: T=${t} gives ${code}`, () => {
      expect(rfc.generate({ timestamp: t * 1000 })).toBe(code);
    });
  }

  it('makes 160-bit secrets', () => {
    expect(Secret.fromBase32(newTotpSecret()).bytes.length).toBe(20);
    expect(newTotpSecret()).not.toBe(newTotpSecret());
  });

  it('accepts the current step and one either side, and tells which step matched', () => {
    const secret = newTotpSecret();
    const totp = new TOTP({ algorithm: 'SHA1', digits: 6, period: TOTP_PERIOD_SECONDS, secret: Secret.fromBase32(secret) });
    const now = new Date(1_800_000_000_000);
    const step = Math.floor(now.getTime() / 1000 / TOTP_PERIOD_SECONDS);
    for (const d of [-1, 0, 1]) expect(matchingStep(secret, totp.generate({ timestamp: (step + d) * 30_000 }), now)).toBe(step + d);
    for (const d of [-3, -2, 2, 3]) expect(matchingStep(secret, totp.generate({ timestamp: (step + d) * 30_000 }), now)).toBeUndefined();
    expect(matchingStep(secret, 'abcdef', now)).toBeUndefined();
  });

  it('recovery codes are xxxx-xxxx-xxxx without look-alikes, hashed in normal form', () => {
    const code = newRecoveryCode();
    expect(code).toMatch(/^[a-hjkmnp-z2-9]{4}-[a-hjkmnp-z2-9]{4}-[a-hjkmnp-z2-9]{4}$/);
    const config = { secretKey: 'k'.repeat(32) };
    expect(recoveryCodeHash(config, code.toUpperCase().replace(/-/g, ' '))).toBe(recoveryCodeHash(config, code));
    expect(new Set(Array.from({ length: 200 }, newRecoveryCode)).size).toBe(200);
  });
});
