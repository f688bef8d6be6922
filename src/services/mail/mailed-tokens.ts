// Mailed single-use tokens (verification, reset): 256 random bits, stored only as a keyed
// hash, expiring, consumed atomically (DELETE ... RETURNING) by their first use. Asking for one
// mails it through the outbox in the same statement that stores it; the statement is the same
// whether or not the address has an account, so neither answer nor timing tells.
import { randomUUID } from 'node:crypto';
import type { EmailTokenKind } from '../../db/entities/email-token.entity.js';
import type { EntityManager } from '../../db/orm.js';
import type { ErrorCode } from '../../errors/catalog.js';
import type { ServiceDeps } from '../deps.js';
import type { Client } from '../rate-limits/limiter.js';
import { sealMail, type MailKind, type OutgoingMail } from './outbox.js';
import { EMAIL_SHAPE, normaliseEmail } from '../shared/identifiers.js';
import { isOpaqueToken, keyedHash, newOpaqueToken } from '../shared/secrets.js';
import { countMail } from './budget.js';
import { linkOf, type TenantMailInfo } from './messages.js';

// Which users may be mailed a token of each kind.
const ELIGIBLE: Record<EmailTokenKind, string> = {
  verify_email: 'not u.email_verified and not u.disabled',
  reset_password: 'not u.disabled',
};

// One statement: the older tokens of the kind are voided, the new one stored, its mail queued;
// for an address without an eligible user, all three touch nothing. Each branch is a kind of
// token and mail for the users matching its condition (one branch, or two: the alternative's
// users get its kind instead; same token, one row either way).
// The user's row is locked and read as it is then (not as the statement's snapshot saw it): a
// sign-up that contests it at the same moment either commits first, and is seen, or waits.
const ISSUE = (eligible: string, branches: Array<{ kind: EmailTokenKind; when: string }>) => `
with u as (select * from users u where tenant_id = ? and email = ? and ${eligible} for update),
${branches
  .map(
    (b, i) => `b${i} as (select id from u where ${b.when}),
voided${i} as (delete from email_tokens where user_id in (select id from b${i}) and kind = '${b.kind}'),
token${i} as (
  insert into email_tokens (id, tenant_id, user_id, kind, token_hash, created_at, expires_at)
  select ?, ?, id, '${b.kind}', ?, ?, ? from b${i}),
queued${i} as (
  insert into mail_outbox (id, tenant_id, kind, status, payload, attempts, next_attempt_at, created_at)
  select ?, ?, ?, 'pending', ?, 0, ?, ? from b${i})`,
  )
  .join(',\n')}
select 1`;

// Where an unknown tenant's request is sent: nowhere (no tenant has this id), at the same cost.
const NOWHERE: TenantMailInfo = { id: '00000000-0000-0000-0000-000000000000', name: '', app_url: 'http://localhost' };

export interface TokenMail {
  kind: EmailTokenKind;
  /** The link's path under app_url. */
  path: string;
  ttlSeconds: number;
  internalError: ErrorCode;
  /** Logged when the statement after the answer fails. */
  dbError: ErrorCode;
  compose(to: string, tenant: TenantMailInfo, link: string, ttlSeconds: number): OutgoingMail & { kind: MailKind };
  /** Users matching `when` (SQL on the users row `u`) are mailed this instead. */
  alternative?: Pick<TokenMail, 'kind' | 'path' | 'ttlSeconds' | 'compose'> & { when: string };
}

/**
 * Mail a token of `spec.kind` to an address of a tenant, if an eligible user has it; the
 * same answer and work otherwise. Counted against the mail limits; beyond them nothing is sent.
 */
export async function mailToken(
  em: EntityManager,
  deps: Pick<ServiceDeps, 'config' | 'limiter' | 'now' | 'later' | 'mailer'>,
  input: { tenant: string; email: string },
  client: Client,
  spec: TokenMail,
): Promise<void> {
  const { config } = deps;
  const email = normaliseEmail(input.email);
  if (!EMAIL_SHAPE.test(email)) return;
  const [found] = (await em.execute('select id, name, app_url from tenants where slug = ?', [input.tenant])) as TenantMailInfo[];
  if (!(await countMail(deps, input.tenant, email, client))) return;
  const tenant = found ?? NOWHERE;
  const now = deps.now();
  const token = newOpaqueToken();
  const tokenHash = keyedHash(config.secretKey, token);
  // Each branch's token row and mail, in the statement's order; only one of them is written.
  const { alternative } = spec;
  const branches = alternative ? [{ ...spec, when: `not (${alternative.when})` }, alternative] : [{ ...spec, when: 'true' }];
  const params: unknown[] = [tenant.id, email];
  for (const b of branches) {
    const { kind, ...content } = b.compose(email, tenant, linkOf(config, tenant, b.path, token, spec.internalError), b.ttlSeconds);
    params.push(randomUUID(), tenant.id, tokenHash, now, new Date(now.getTime() + b.ttlSeconds * 1000));
    params.push(randomUUID(), tenant.id, kind, sealMail(config, content), now, now);
  }
  // The address-dependent statement runs after the answer: nothing in the answer or its timing
  // depends on whether the address has an account.
  deps.later(async () => {
    await em.execute(ISSUE(ELIGIBLE[spec.kind], branches), params);
    deps.mailer?.wake();
  }, spec.dbError);
}

export interface ConsumedToken {
  userId: string;
  tenantId: string;
}

// The token used, and (when it is still valid) every other link of its kind to the same user:
// two requests for a link at once may both be answered before either voids the other, and a
// used link must leave none behind.
const CONSUME_TOKEN = `
with used as (delete from email_tokens where token_hash = ? and kind = ? returning user_id, tenant_id, expires_at),
     siblings as (delete from email_tokens t using used where t.user_id = used.user_id and t.kind = ? and t.token_hash <> ? and used.expires_at > ?)
select user_id, tenant_id, expires_at from used`;

/** Consume a token of `kind` inside `tx`: the first use wins, and voids the user's other links of that kind; unknown, expired or used → undefined. */
export async function consumeToken(tx: EntityManager, deps: Pick<ServiceDeps, 'config' | 'now'>, token: string, kind: EmailTokenKind): Promise<ConsumedToken | undefined> {
  if (!isOpaqueToken(token)) return undefined;
  const hash = keyedHash(deps.config.secretKey, token);
  const [row] = (await tx.execute(CONSUME_TOKEN, [hash, kind, kind, hash, deps.now()])) as Array<{ user_id: string; tenant_id: string; expires_at: Date }>;
  if (!row || new Date(row.expires_at) <= deps.now()) return undefined;
  return { userId: row.user_id, tenantId: row.tenant_id };
}
