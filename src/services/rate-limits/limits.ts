// The limits: their names and sizes, the keys a credential check counts against, the client
// address as the limits see it (IPv6 by /64), and the interface of the stores that count them.
import { isIPv6 } from 'node:net';
import type { Config } from '../../config.js';
import { AuthError } from '../../errors/auth-error.js';

export type LimitName =
  | 'login_account'
  | 'login_address'
  | 'refresh_address'
  | 'webauthn_options_address'
  | 'webauthn_verify_address'
  | 'google_address'
  | 'sso_start_address'
  | 'sso_address'
  | 'device_code_address'
  | 'api_key_create_account'
  | 'api_key_auth_address'
  | 'mail_address'
  | 'mail_account'
  | 'mail_account_total'
  | 'invitations_inviter';

export type LimitKey = readonly [LimitName, string];

/** What a credential check counts against: the account (tenant and normalised address) and the client address. */
export const credentialKeys = (tenant: string, email: string, ip: string): [LimitKey, LimitKey] => [
  ['login_account', `${tenant}\u0000${email}`],
  ['login_address', ip],
];

export interface RateLimiter {
  /**
   * Take one point from each key, atomically per key in the store. When any key is spent the
   * attempt is refused with auth_rate_limited (Retry-After) and gives back every point it took:
   * a refused attempt gets no verdict, so it does not count.
   */
  consume(keys: readonly LimitKey[]): Promise<Taken>;
  /**
   * After the attempt: give its points back, except that the keys in `cleared` are forgotten
   * altogether (a successful login clears its account's failures). A point is given back only
   * in the window it was taken in (one statement in PostgreSQL).
   */
  settle(taken: Taken, cleared: readonly LimitKey[]): Promise<void>;
  /**
   * PostgreSQL only: a `limit_taken` CTE taking the points, for an attempt's first statement,
   * so that taking them costs no round trip of its own (see limitedAlong).
   */
  carry?(keys: readonly LimitKey[]): CarriedLimits;
  /**
   * PostgreSQL only: settle(taken, cleared) as CTEs of the successful attempt's last statement,
   * run only if the CTE named `guard` has a row (see limitedAlong).
   */
  settleAlong?(taken: Taken, cleared: readonly LimitKey[], guard: string): StatementPart;
  /**
   * For credentials nobody can guess (countedAfter): refuse (auth_rate_limited) when a key is
   * spent; nothing is taken.
   */
  spent(keys: readonly LimitKey[]): Promise<void>;
  /** One point on each key, for a failure that counts, after the fact: nothing is refused. */
  count(keys: readonly LimitKey[]): Promise<void>;
  /** PostgreSQL only: spent() as a `limit_spent` CTE of the attempt's first statement (no round trip of its own). */
  checkAlong?(keys: readonly LimitKey[]): CarriedCheck;
  close(): Promise<void>;
}

/**
 * The spent check carried by an attempt's first statement: `check` adds the `limit_spent` CTE
 * (the spent keys and their window ends); the attempt hands `verdict` the latest of those ends
 * (null: none spent), which refuses with auth_rate_limited.
 */
export interface CarriedCheck {
  check: StatementPart;
  verdict(spentUntil: string | number | null): void;
}

/** auth_rate_limited until `until` (ms since the epoch), at least a second. */
export function refusedUntil(until: number, now = Date.now()): AuthError {
  return new AuthError('auth_rate_limited', { retryAfter: Math.max(1, (until - now) / 1000) });
}

/** What an attempt took: its keys and (PostgreSQL) the window of each point, by stored key. */
export interface Taken {
  keys: readonly LimitKey[];
  windows?: ReadonlyMap<string, number>;
}

/** Common table expressions for another statement's WITH list, and their parameters in order. */
export interface StatementPart {
  ctes: string;
  params: unknown[];
}

/** A row of the `limit_taken` CTE, as its statement returns it (`json_agg`). */
export interface TakenRow {
  key: string;
  points: number;
  expire: string | number;
}

/**
 * An attempt's points taken by its own first statement: it includes `take` and hands the
 * `limit_taken` rows to `taken`, which refuses (auth_rate_limited) when a key is spent.
 */
export interface CarriedLimits {
  take: StatementPart;
  taken(rows: readonly TakenRow[]): Promise<Taken>;
  /** The success's settle, for the attempt's last statement to carry (absent: settled apart). */
  settle?: SettleAlong;
}

/**
 * A success's settle carried by the statement that makes the success (a sign-in's session):
 * `part(guard)` gives its CTEs, which run only if the statement's CTE `guard` has a row; the
 * attempt calls `done()` once that statement committed with its rows, and nothing is settled
 * apart. Without done() the settle happens as it would have.
 */
export interface SettleAlong {
  part(guard: string): StatementPart;
  done(): void;
}

/** The client as the limits (and session lists) see it. */
export interface Client {
  ip: string;
  /** The User-Agent header, trimmed of control characters and cut to 256 characters. */
  userAgent?: string;
}

/**
 * The address a limit counts: IPv4 as it is (an IPv4-mapped IPv6 address as its IPv4), IPv6
 * by its /64, the smallest block one subscriber usually holds: counting single IPv6 addresses
 * would give every client 2^64 fresh budgets.
 */
export function addressKey(ip: string): string {
  const bare = ip.split('%')[0];
  if (!isIPv6(bare)) return bare;
  const [left, right] = bare.includes('::') ? bare.split('::') : [bare, undefined];
  const groups = (part: string | undefined) => {
    if (!part) return [];
    return part.split(':').flatMap((g) => {
      if (!g.includes('.')) return [g];
      const [a, b, c, d] = g.split('.').map(Number);
      return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
    });
  };
  const head = groups(left);
  const tail = groups(right);
  const full = (right === undefined ? head : [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail]).map((g) => parseInt(g, 16));
  // An IPv4-mapped address however it is spelled (::ffff:7f00:1, 0:0:0:0:0:ffff:1.2.3.4) is its IPv4
  // client: a proxy's spelling must not put every IPv4 client in one IPv6 /64.
  if (full.slice(0, 5).every((g) => g === 0) && full[5] === 0xffff) return [full[6] >> 8, full[6] & 0xff, full[7] >> 8, full[7] & 0xff].join('.');
  // No subscriber holds the zero /64 (loopback, and IPv4 embedded in other forms): each address counts alone.
  if (full.slice(0, 4).every((g) => g === 0)) return full.map((g) => g.toString(16)).join(':');
  return `${full.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
}

/** Each limit's points per window: failures per RATE_LIMIT_WINDOW_SECONDS, mails per hour. */
export function limitOf(config: Config['rateLimit'], name: LimitName): { points: number; duration: number } {
  const window = (points: number) => ({ points, duration: config.windowSeconds });
  if (name === 'login_account') return window(config.accountFailures);
  if (name === 'webauthn_options_address' || name === 'sso_start_address') return window(config.optionsPerAddress);
  if (name === 'api_key_create_account') return window(config.apiKeyCreates);
  if (name === 'mail_address') return { points: config.mailsPerAddress, duration: 3600 };
  if (name === 'mail_account') return { points: config.mailsPerAccount, duration: 3600 };
  if (name === 'mail_account_total') return { points: config.mailsPerAccountTotal, duration: 3600 };
  if (name === 'invitations_inviter') return { points: config.invitationsPerInviter, duration: 3600 };
  return window(config.addressFailures);
}

export const NAMES: LimitName[] = [
  'login_account',
  'login_address',
  'refresh_address',
  'webauthn_options_address',
  'webauthn_verify_address',
  'google_address',
  'sso_start_address',
  'sso_address',
  'device_code_address',
  'api_key_create_account',
  'api_key_auth_address',
  'mail_address',
  'mail_account',
  'mail_account_total',
  'invitations_inviter',
];

/** Waits between the later tries of a settle that failed. */
const SETTLE_RETRY_MS = [1000, 5000, 15000];

/**
 * Give points back now, or, when the store fails, a few more times in the background: a
 * database blip must not leave a burst of successful attempts counted against the address for
 * the whole window (behind a NAT that would lock everyone out). A late give-back is harmless:
 * it only applies to the window its point was taken in.
 */
export async function untilDone(settle: () => Promise<void>): Promise<void> {
  try {
    await settle();
  } catch {
    const retry = (i: number) => {
      if (i >= SETTLE_RETRY_MS.length) return;
      setTimeout(() => settle().catch(() => retry(i + 1)), SETTLE_RETRY_MS[i]).unref();
    };
    retry(0);
  }
}
