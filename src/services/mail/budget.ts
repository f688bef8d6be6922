// The mail budgets that sign-up, resend and forgot share.
import { AuthError } from '../../errors/auth-error.js';
import type { ServiceDeps } from '../deps.js';
import { addressKey, type Client } from '../rate-limits/limiter.js';

/**
 * Takes one mail from the hourly budgets: the client address's (RATE_LIMIT_MAILS_PER_ADDRESS),
 * the account's as asked from this address (RATE_LIMIT_MAILS_PER_ACCOUNT: requests from other
 * addresses never spend the owner's own, SPEC §15), and the account's ceiling whatever the
 * address (RATE_LIMIT_MAILS_PER_ACCOUNT_TOTAL, what one inbox receives). False when one is
 * spent: the caller then answers as usual and sends nothing, so the limit reveals nothing.
 */
export async function countMail(deps: Pick<ServiceDeps, 'limiter'>, tenant: string, email: string, client: Client): Promise<boolean> {
  const account = `${tenant}\u0000${email}`;
  try {
    await deps.limiter.consume([
      ['mail_address', client.ip],
      ['mail_account', `${account}\u0000${addressKey(client.ip)}`],
      ['mail_account_total', account],
    ]);
    return true;
  } catch (e) {
    if (e instanceof AuthError && e.code === 'auth_rate_limited') return false;
    throw e;
  }
}
