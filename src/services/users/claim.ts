// SPEC §15, "a proven owner takes the account clean": an account whose address was never
// verified may hold credentials that anybody set (a sign-up needs no mailbox). When the owner
// first proves the address (Google where it is authoritative, an SSO connection for its
// verified domains, an invitation's mailed link, a reset's mailed link), every credential the owner did not set goes in the same transaction.
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '../../db/orm.js';

/** How the owner proved the address. */
export type Proof = 'google' | 'sso' | 'invitation' | 'reset';

// One statement: what the owner did not set goes, and the audit says so. The password is the
// caller's to replace (the owner's new one) or clear (federated sign-in); `keep` is the
// federated link that proved the address, if it already exists.
const DROP = `
with gone_tokens as (delete from email_tokens where user_id = ?),
     gone_sessions as (update sessions set revoked_at = ?, revoked_reason = 'address_proven' where user_id = ? and revoked_at is null),
     gone_passkeys as (delete from webauthn_credentials where user_id = ?),
     gone_keys as (update api_keys set revoked_at = ? where user_id = ? and revoked_at is null),
     gone_factors as (delete from mfa_factors where user_id = ?),
     gone_codes as (delete from mfa_recovery_codes where user_id = ?),
     gone_pending as (delete from mfa_challenges where user_id = ?),
     gone_links as (delete from external_identities where user_id = ? and id is distinct from ?::uuid),
     gone_sso_links as (delete from sso_identities where user_id = ? and id is distinct from ?::uuid)
insert into audit_events (id, tenant_id, user_id, subject_id, type, details, created_at)
select ?, tenant_id, id, id, 'account_claimed', ?::jsonb, ? from users where id = ?`;

/**
 * Inside `tx`, after the caller marked the address verified (and set or cleared the password):
 * drop the pending mailed tokens, sessions, passkeys, API keys, TOTP factor, recovery codes,
 * pending second steps and federated links other than `keep`. The caller forgets the user in
 * the session and API-key caches after the commit.
 */
export async function dropUnprovenCredentials(tx: EntityManager, now: Date, userId: string, how: Proof, keep?: string): Promise<void> {
  await tx.execute(DROP, [
    userId,
    now,
    userId,
    userId,
    now,
    userId,
    userId,
    userId,
    userId,
    userId,
    keep ?? null,
    userId,
    keep ?? null,
    randomUUID(),
    JSON.stringify({ how }),
    now,
    userId,
  ]);
}
