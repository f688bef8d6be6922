// The password policy of sign-up, reset, change and the admin CLI: long enough, not too long,
// not one of the ~49,000 common passwords of @zxcvbn-ts/language-common (offline, common.ts), and not
// the e-mail address or its local part.
import type { Config } from '../../config.js';
import { AuthError, type PasswordRule } from '../../errors/auth-error.js';
import { normaliseEmail } from '../shared/identifiers.js';
import type { BreachChecker } from './breaches.js';
import { isCommonPassword } from './common.js';

/** The offline checks a password fails (SPEC §16's `rules`), in the policy's order; none when it keeps the policy. */
export function passwordRules(config: Pick<Config, 'accounts' | 'maxPasswordLength'>, password: string, email: string): PasswordRule[] {
  const normal = password.normalize('NFC');
  const failed: PasswordRule[] = [];
  if ([...normal].length < config.accounts.passwordMinLength) failed.push('too_short');
  if (normal.length > config.maxPasswordLength) failed.push('too_long');
  const lower = normal.toLowerCase();
  if (isCommonPassword(lower)) failed.push('common');
  const address = normaliseEmail(email);
  if (lower === address || lower === address.slice(0, address.lastIndexOf('@'))) failed.push('contains_email');
  return failed;
}

const IN_WORDS: Record<PasswordRule, string> = {
  too_short: 'too short',
  too_long: 'too long',
  common: 'a common password',
  contains_email: 'the e-mail address',
  breached: 'found in a breach',
  same_as_current: 'the current password',
};

/** Why a password is refused, in words (the admin CLI's message), or null when it keeps the policy. */
export function passwordProblem(config: Pick<Config, 'accounts' | 'maxPasswordLength'>, password: string, email: string): string | null {
  const [first] = passwordRules(config, password, email);
  return first ? IN_WORDS[first] : null;
}

/**
 * auth_password_weak (422) when the password breaks the policy, with the failed checks as
 * `rules`: the offline rules, then, with PASSWORD_BREACH_CHECK=hibp, Have I Been Pwned
 * (unreachable: the offline rules alone decide).
 */
export async function checkPassword(
  deps: { config: Pick<Config, 'accounts' | 'maxPasswordLength'>; breaches?: BreachChecker },
  password: string,
  email: string,
): Promise<void> {
  const rules = passwordRules(deps.config, password, email);
  if (rules.length) throw new AuthError('auth_password_weak', { rules });
  if ((await deps.breaches?.isBreached(password)) === true) throw new AuthError('auth_password_weak', { rules: ['breached'] });
}
