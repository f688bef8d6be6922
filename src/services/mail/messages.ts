// The lifecycle's mails: plain text plus simple HTML, with the tenant's name and links built
// on the tenant's app_url (never on a request's Host header).
import type { Config } from '../../config.js';
import { AuthError } from '../../errors/auth-error.js';
import type { ErrorCode } from '../../errors/catalog.js';
import type { MailKind, OutgoingMail } from './outbox.js';

export interface TenantMailInfo {
  id: string;
  name: string;
  app_url: string | null;
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** `<app_url>/<path>?token=<token>`; a tenant without app_url (and no APP_URL) is the gateway's misconfiguration. */
export function linkOf(config: Pick<Config, 'accounts'>, tenant: TenantMailInfo, path: string, token: string, internal: ErrorCode): string {
  const base = tenant.app_url ?? config.accounts.appUrl;
  if (!base) throw new AuthError(internal, { cause: new Error(`tenant ${tenant.id} has no app_url and APP_URL is unset: mailed links cannot be built`) });
  const url = new URL(`${base.replace(/\/+$/, '')}/${path}`);
  url.searchParams.set('token', token);
  return url.toString();
}

function mail(to: string, subject: string, paragraphs: string[], link?: { href: string; label: string }): OutgoingMail {
  const text = [...paragraphs, ...(link ? [`${link.label}: ${link.href}`] : [])].join('\n\n') + '\n';
  const html = [
    ...paragraphs.map((p) => `<p>${escape(p)}</p>`),
    ...(link ? [`<p><a href="${escape(link.href)}">${escape(link.label)}</a></p>`] : []),
  ].join('\n');
  return { to, subject, text, html };
}

export function verifyEmailMail(to: string, tenant: TenantMailInfo, link: string, ttlSeconds: number): OutgoingMail & { kind: MailKind } {
  const hours = Math.round(ttlSeconds / 3600);
  return {
    kind: 'verify_email',
    ...mail(to, `${tenant.name}: confirm your e-mail address`, [
      `Confirm that ${to} is your address to finish signing up to ${tenant.name}.`,
      `The link works once, within ${hours} hours, and activates the password chosen at that sign-up. If you did not sign up, ignore this mail: nothing happens unless you press the button behind the link. To take the address for yourself instead, use "Forgot password" at ${tenant.name}: setting a password removes whatever this sign-up set.`,
    ], {
      href: link,
      label: 'Confirm your address',
    }),
  };
}

export function signupExistingMail(to: string, tenant: TenantMailInfo): OutgoingMail & { kind: MailKind } {
  return {
    kind: 'signup_existing',
    ...mail(to, `${tenant.name}: someone tried to sign up with your address`, [
      `Someone tried to sign up to ${tenant.name} with ${to}, which already has an account. Nothing was changed.`,
      'If that was you, sign in instead, or reset your password if you forgot it. If not, you can ignore this mail.',
    ]),
  };
}

/**
 * A sign-up of an address whose earlier sign-up still waits for verification: nothing was
 * changed, and the link sets a password (a reset), which proves the address (SPEC §15).
 */
export function signupPendingMail(to: string, tenant: TenantMailInfo, link: string, ttlSeconds: number): OutgoingMail & { kind: MailKind } {
  const minutes = Math.round(ttlSeconds / 60);
  return {
    kind: 'signup_pending',
    ...mail(to, `${tenant.name}: a sign-up with your address is already waiting`, [
      `Someone signed up to ${tenant.name} with ${to} again, while an earlier sign-up of the address still waits for its confirmation. Nothing was changed, and the earlier confirmation link still works.`,
      `If you cannot tell which sign-up was yours, set your password with this link instead: it confirms the address and removes anything set by the earlier sign-up. It works once, within ${minutes} minutes. If you did not sign up, ignore this mail.`,
    ], { href: link, label: 'Set your password' }),
  };
}

/** What a resend of a contested sign-up mails instead of a confirmation link (SPEC §15). */
export function signupContestedMail(to: string, tenant: TenantMailInfo, link: string, ttlSeconds: number): OutgoingMail & { kind: MailKind } {
  const minutes = Math.round(ttlSeconds / 60);
  return {
    kind: 'signup_pending',
    ...mail(to, `${tenant.name}: set your password to finish signing up`, [
      `A new confirmation link was asked for ${to} at ${tenant.name}. The address was signed up more than once before it was confirmed, so no confirmation link is sent: it would activate the password of the first sign-up, which may not be yours. The first sign-up's own mail still works if it was yours.`,
      `Set your password with this link: it confirms the address and removes anything set by the sign-ups. It works once, within ${minutes} minutes. If you did not sign up, ignore this mail.`,
    ], { href: link, label: 'Set your password' }),
  };
}

export function resetPasswordMail(to: string, tenant: TenantMailInfo, link: string, ttlSeconds: number): OutgoingMail & { kind: MailKind } {
  const minutes = Math.round(ttlSeconds / 60);
  return {
    kind: 'reset_password',
    ...mail(to, `${tenant.name}: reset your password`, [`Someone asked to reset the password of ${to} at ${tenant.name}.`, `The link works once, within ${minutes} minutes. If you did not ask, ignore this mail.`], {
      href: link,
      label: 'Choose a new password',
    }),
  };
}

export function recoveryCodeUsedMail(to: string, tenant: TenantMailInfo, left: number): OutgoingMail & { kind: MailKind } {
  return {
    kind: 'recovery_code_used',
    ...mail(to, `${tenant.name}: a recovery code was used to sign in`, [
      `A recovery code of ${to} was used to sign in to ${tenant.name}. ${left} unused code(s) remain.`,
      'If that was not you, sign in, change your password and make new recovery codes now.',
    ]),
  };
}

/** Two-step sign-in turned on while API keys made before it still work (they never take the second step). */
export function mfaEnrolledMail(to: string, tenant: TenantMailInfo, keys: Array<{ name: string; prefix: string }>): OutgoingMail & { kind: MailKind } {
  return {
    kind: 'mfa_enrolled',
    ...mail(
      to,
      keys.length ? `${tenant.name}: two-step sign-in is on; review your API keys` : `${tenant.name}: two-step sign-in is on`,
      [
        `Two-step sign-in was turned on for ${to} at ${tenant.name}.`,
        ...(keys.length
          ? [
              `These API keys were made before it and still work without a second step: ${keys.map((k) => `${k.name} (${k.prefix}…)`).join(', ')}.`,
              'If you did not make one of them, revoke it now (the activation answer lists them; revokeApiKeys takes their ids).',
            ]
          : []),
        'If it was not you, someone has your password: reset it, and ask an administrator to reset your two-step sign-in.',
      ],
    ),
  };
}

/** A new way to sign in was added (SPEC §15): the owner hears of it, whoever added it. */
export function wayInAddedMail(to: string, tenant: TenantMailInfo, what: 'passkey' | { google: string }): OutgoingMail & { kind: MailKind } {
  const added = what === 'passkey' ? 'A passkey was added' : `The Google account ${what.google} was linked`;
  return {
    kind: 'way_in_added',
    ...mail(to, `${tenant.name}: ${what === 'passkey' ? 'a passkey was added' : 'a Google account was linked'} to your account`, [
      `${added} to ${to} at ${tenant.name}: it can now be used to sign in.`,
      'If it was not you, someone has your password: reset it, then remove it from your sign-in methods (or ask an administrator).',
    ]),
  };
}

export function passwordChangedMail(to: string, tenant: TenantMailInfo, how: 'reset' | 'change'): OutgoingMail & { kind: MailKind } {
  return {
    kind: 'password_changed',
    ...mail(to, `${tenant.name}: your password was changed`, [
      how === 'reset'
        ? `The password of ${to} at ${tenant.name} was reset with a mailed link: your sessions were ended and your API keys revoked.`
        : `The password of ${to} at ${tenant.name} was changed: your other sessions were ended and your API keys revoked.`,
      'Review your passkeys. If that was not you, reset your password now and tell your administrator.',
    ]),
  };
}

/** The same mail whether or not the address already has an account here (the inviter learns nothing from it). */
export function invitationMail(to: string, tenant: TenantMailInfo, link: string, ttlSeconds: number, invitedBy: string, roles: string[]): OutgoingMail & { kind: MailKind } {
  const days = Math.round(ttlSeconds / 86400);
  return {
    kind: 'invitation',
    ...mail(to, `${tenant.name}: you are invited`, [
      `${invitedBy} invited ${to} to ${tenant.name}${roles.length ? ` as ${roles.join(', ')}` : ''}.`,
      `Follow the link to choose a password and sign in; if you already have an account at ${tenant.name}, sign in first and the link adds the roles to it. The link works once, within ${days} days. If you do not know ${tenant.name}, ignore this mail.`,
    ], { href: link, label: 'Accept the invitation' }),
  };
}
