// The password policy of sign-up, reset, change and the admin CLI: long enough, not too long,
// not one of the ~49,000 common passwords of @zxcvbn-ts/language-common (offline), and not
// the e-mail address or its local part.
import { dictionary } from '@zxcvbn-ts/language-common';
import type { Config } from '../../config.js';
import { AuthError } from '../../errors/auth-error.js';
import { normaliseEmail } from '../shared/identifiers.js';
import type { BreachChecker } from './breaches.js';

const COMMON = new Set((dictionary['passwords-common'] as string[]).map((p) => p.toLowerCase()));

/** How many passwords the offline list holds (docs/accounts.md states it). */
export const COMMON_PASSWORDS = COMMON.size;

/** Why a password is refused, or null when it keeps the policy. */
export function passwordProblem(config: Pick<Config, 'accounts' | 'maxPasswordLength'>, password: string, email: string): string | null {
  const normal = password.normalize('NFC');
  const length = [...normal].length;
  if (length < config.accounts.passwordMinLength) return 'too short';
  if (normal.length > config.maxPasswordLength) return 'too long';
  const lower = normal.toLowerCase();
  if (COMMON.has(lower)) return 'a common password';
  const address = normaliseEmail(email);
  if (lower === address || lower === address.slice(0, address.lastIndexOf('@'))) return 'the e-mail address';
  return null;
}

/**
 * auth_password_weak (422) when the password breaks the policy: the offline rules, then, with
 * PASSWORD_BREACH_CHECK=hibp, Have I Been Pwned (unreachable: the offline rules alone decide).
 */
export async function checkPassword(
  deps: { config: Pick<Config, 'accounts' | 'maxPasswordLength'>; breaches?: BreachChecker },
  password: string,
  email: string,
): Promise<void> {
  if (passwordProblem(deps.config, password, email) !== null) throw new AuthError('auth_password_weak');
  if ((await deps.breaches?.isBreached(password)) === true) throw new AuthError('auth_password_weak');
}
