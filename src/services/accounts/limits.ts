// What sign-up, resend and forgot share: the shape of an address, and the mail limits.
import { AuthError } from '../../errors/auth-error.js';
import type { ServiceDeps } from '../deps.js';
import type { Client } from '../limits/rate-limiter.js';

export { EMAIL_SHAPE } from '../shared/identifiers.js';

/**
 * Takes one mail from the client address's and the account's hourly budget
 * (RATE_LIMIT_MAILS_PER_ADDRESS, RATE_LIMIT_MAILS_PER_ACCOUNT); false when one is spent. The
 * caller then answers as usual and sends nothing, so the limit reveals nothing.
 */
export async function countMail(deps: Pick<ServiceDeps, 'limiter'>, tenant: string, email: string, client: Client): Promise<boolean> {
  try {
    await deps.limiter.consume([
      ['mail_address', client.ip],
      ['mail_account', `${tenant}\u0000${email}`],
    ]);
    return true;
  } catch (e) {
    if (e instanceof AuthError && e.code === 'auth_rate_limited') return false;
    throw e;
  }
}
