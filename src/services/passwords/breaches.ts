// Have I Been Pwned's range API (k-anonymity): only the first 5 hex characters of the
// password's SHA-1 leave the gateway; the answer lists every known suffix of that range (padded,
// so its size tells nothing either), and the match is made here. When the API cannot be reached
// in time, the offline list alone decides, and a metric counts the fallback.
import { createHash } from 'node:crypto';
import type { Config } from '../../config.js';

export interface BreachChecker {
  /** True when the password appears in a breach; false when not; undefined when the API could not tell. */
  isBreached(password: string): Promise<boolean | undefined>;
}

export function createBreachChecker(
  config: Pick<Config, 'accounts'>,
  count: (outcome: 'breached' | 'clean' | 'fallback') => void,
): BreachChecker | undefined {
  const { breachCheck, hibpUrl, hibpTimeoutMs } = config.accounts;
  if (breachCheck !== 'hibp') return undefined;
  return {
    async isBreached(password) {
      const sha1 = createHash('sha1').update(password.normalize('NFC'), 'utf8').digest('hex').toUpperCase();
      const [prefix, suffix] = [sha1.slice(0, 5), sha1.slice(5)];
      try {
        const res = await fetch(`${hibpUrl}${prefix}`, { headers: { 'add-padding': 'true', 'user-agent': 'auth-gateway' }, signal: AbortSignal.timeout(hibpTimeoutMs) });
        if (!res.ok) throw new Error(`HIBP answered ${res.status}`);
        const breached = (await res.text()).split('\n').some((line) => {
          const [s, n] = line.trim().split(':');
          return s === suffix && Number(n) > 0;
        });
        count(breached ? 'breached' : 'clean');
        return breached;
      } catch {
        count('fallback');
        return undefined;
      }
    },
  };
}
