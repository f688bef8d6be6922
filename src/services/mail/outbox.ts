// The mail outbox: a mail is a row written in the same transaction as the token it carries,
// so a token exists exactly when its mail is on its way. The recipient, subject and bodies
// (which hold the token's link) are sealed with a key derived from SECRET_KEY, and dropped
// once the mail is sent or abandoned; a database dump never yields a usable link.
import { randomUUID } from 'node:crypto';
import type { Config } from '../../config.js';
import type { EntityManager } from '../../db/orm.js';
import type { ServiceDeps } from '../deps.js';
import { derivedKey, seal, unseal } from '../shared/secrets.js';

/** What a mail is for: its template, and the `kind` label of the mail metrics. */
export const MAIL_KINDS = ['verify_email', 'reset_password', 'signup_existing', 'signup_pending', 'password_changed', 'recovery_code_used', 'mfa_enrolled', 'invitation', 'way_in_added'] as const;
export type MailKind = (typeof MAIL_KINDS)[number];

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

const keyCache = new Map<string, Buffer>();
const outboxKey = (secretKey: string) => {
  let key = keyCache.get(secretKey);
  if (!key) keyCache.set(secretKey, (key = derivedKey(secretKey, 'mail-outbox v1')));
  return key;
};

export const sealMail = (config: Pick<Config, 'secretKey'>, mail: OutgoingMail) => seal(outboxKey(config.secretKey), JSON.stringify(mail));
export const openMail = (config: Pick<Config, 'secretKey'>, payload: string) => JSON.parse(unseal(outboxKey(config.secretKey), payload)) as OutgoingMail;

/** Queue a mail inside the caller's transaction `tx`: due at once, delivered by any instance's sender. */
export async function enqueueMail(
  tx: EntityManager,
  deps: Pick<ServiceDeps, 'config' | 'now'>,
  mail: OutgoingMail & { tenantId: string | null; kind: MailKind },
): Promise<void> {
  const now = deps.now();
  const { tenantId, kind, ...content } = mail;
  await tx.execute('insert into mail_outbox (id, tenant_id, kind, status, payload, attempts, next_attempt_at, created_at) values (?, ?, ?, ?, ?, 0, ?, ?)', [
    randomUUID(),
    tenantId,
    kind,
    'pending',
    sealMail(deps.config, content),
    now,
    now,
  ]);
}
