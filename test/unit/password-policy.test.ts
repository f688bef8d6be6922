// The password policy: long enough and not too long, not one of the offline list's common passwords (at least 10,000), not the e-mail address or its local part.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { commonPasswordCount, isCommonPassword } from '../../src/services/passwords/common.js';
import { passwordProblem } from '../../src/services/passwords/policy.js';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const config = loadConfig({ DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'gw-policy-')), PASSWORD_MIN_LENGTH: '10', MAX_PASSWORD_LENGTH: '64' });

describe('password policy', () => {
  it('ships an offline list of at least 10,000 common passwords', () => {
    expect(commonPasswordCount()).toBeGreaterThanOrEqual(10_000);
  });

  it('finds every password of the list, and only those (the packed list against the package\'s own)', async () => {
    const { dictionary } = await import('@zxcvbn-ts/language-common');
    const listed = new Set((dictionary['passwords-common'] as string[]).map((p) => p.toLowerCase()));
    expect(commonPasswordCount()).toBe(listed.size);
    for (const p of listed) if (!isCommonPassword(p)) throw new Error(`not found: ${p}`);
    for (const p of ['violet anchor trumpet', '', 'zzzzzzzzzzzzzzzzzzzzzz', '\u0000', 'passwor', 'password1x']) expect(isCommonPassword(p)).toBe(listed.has(p));
  });

  const cases: Array<[string, string, string | null]> = [
    ['a long and uncommon one', 'violet anchor trumpet', null],
    ['shorter than PASSWORD_MIN_LENGTH', 'abc12345', 'too short'],
    ['longer than MAX_PASSWORD_LENGTH', 'x'.repeat(65), 'too long'],
    ['a common password', 'qwertyuiop', 'a common password'],
    ['a common password in other case', 'QwertyUiop', 'a common password'],
    ['the e-mail address', 'someone.long@example.org', 'the e-mail address'],
    ['the local part, in other case', 'Someone.Long', 'the e-mail address'],
    ['characters, not bytes, count', 'ééééééééé', 'too short'],
  ];
  for (const [what, password, problem] of cases) {
    it(`${what}: ${problem ?? 'kept'}`, () => {
      expect(passwordProblem(config, password, 'someone.long@example.org')).toBe(problem);
    });
  }
});
