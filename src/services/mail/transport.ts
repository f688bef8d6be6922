// How one mail of the outbox leaves the gateway: over SMTP (nodemailer, SMTP_URL), or, in
// development with SMTP_URL unset, written whole as an .eml file under DATA_DIR/mail/. What a
// failure leaves behind (last_error, log lines) is its class and SMTP code, never content.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Transporter } from 'nodemailer';
import type { Config } from '../../config.js';
import type { OutgoingMail } from './outbox.js';
import { lazy } from '../shared/lazy.js';

/** nodemailer, loaded by the first mail a transport sends (a gateway that sends none never loads it). */
const nodemailer = lazy(async () => (await import('nodemailer')).default);

/** SMTP connection bounds: a dead or hung server fails a delivery within seconds, not minutes. */
export const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000, dnsTimeout: 10_000 } as const;

export interface Delivery {
  id: string;
  kind: string;
  mail: OutgoingMail;
}

export interface MailTransport {
  /** 'smtp', or 'files' (development without SMTP_URL). */
  readonly mode: 'smtp' | 'files';
  /** Delivers or throws; answers what may be logged about it (never the recipient's local part or any content). */
  deliver(d: Delivery): Promise<Record<string, string>>;
  close(): void;
}

/** The part after the last @ of an address: the most a log line says about a recipient. */
export function recipientDomain(to: string): string {
  const at = to.lastIndexOf('@');
  const domain = at < 0 ? '' : to.slice(at + 1).replace(/>.*$/, '').toLowerCase();
  return /^[a-z0-9.-]{1,253}$/.test(domain) ? domain : 'invalid';
}

/**
 * What may be stored and logged about a failed delivery: the error's class, nodemailer's (or
 * the socket's) error code and the SMTP reply code, e.g. "Error EMESSAGE 451". Never the
 * message or the server's reply text, which may quote an address.
 */
export function describeFailure(e: unknown): string {
  const fields = (typeof e === 'object' && e !== null ? e : {}) as { name?: unknown; code?: unknown; responseCode?: unknown };
  const name = typeof fields.name === 'string' && /^\w{1,40}$/.test(fields.name) ? fields.name : 'Error';
  const code = typeof fields.code === 'string' && /^E[A-Z0-9_]{1,30}$/.test(fields.code) ? fields.code : undefined;
  const reply = typeof fields.responseCode === 'number' && Number.isInteger(fields.responseCode) && fields.responseCode >= 200 && fields.responseCode < 600 ? String(fields.responseCode) : undefined;
  return [name, code, reply].filter(Boolean).join(' ');
}

/** The domain of MAIL_FROM's address, for Message-IDs. */
function fromDomain(from: string): string {
  const domain = recipientDomain(from);
  return domain === 'invalid' ? 'localhost' : domain;
}

/** The message of one outbox row: its Message-ID is the row's, so a resend is recognisably the same mail. */
function message(config: Pick<Config, 'mail'>, d: Delivery) {
  return {
    from: config.mail.from,
    to: d.mail.to,
    subject: d.mail.subject,
    text: d.mail.text,
    ...(d.mail.html === undefined ? {} : { html: d.mail.html }),
    messageId: `<${d.id}@${fromDomain(config.mail.from)}>`,
    headers: { 'Auto-Submitted': 'auto-generated' },
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

/** SMTP_URL set: a small pool of SMTP connections with bounded timeouts; nodemailer's own logging off. */
export function smtpTransport(config: Pick<Config, 'mail'>, onError: (err: unknown) => void): MailTransport {
  let pool: Transporter | undefined;
  const transporter = lazy(async () => {
    pool = (await nodemailer()).createTransport({ url: config.mail.smtpUrl, pool: true, maxConnections: 3, ...SMTP_TIMEOUTS, logger: false, debug: false });
    // A pooled connection's failure is also emitted as an event: never an unhandled 'error'.
    pool.on('error', onError);
    return pool;
  });
  return {
    mode: 'smtp',
    async deliver(d) {
      await (await transporter()).sendMail(message(config, d));
      return { to_domain: recipientDomain(d.mail.to) };
    },
    close: () => pool?.close(),
  };
}

/**
 * Development without SMTP_URL: each mail whole (RFC 822, both parts) in
 * DATA_DIR/mail/<time>-<kind>-<id>.eml, and beside it its text part as it reads (<same>.txt):
 * the .eml is quoted-printable, which breaks a long link across lines.
 */
export function fileTransport(config: Pick<Config, 'mail' | 'dataDir'>): MailTransport {
  const transporter = lazy(async () => (await nodemailer()).createTransport({ streamTransport: true, buffer: true, newline: 'unix', logger: false }));
  const dir = path.join(config.dataDir, 'mail');
  return {
    mode: 'files',
    async deliver(d) {
      const info = await (await transporter()).sendMail(message(config, d));
      // The files hold live links: readable by the gateway's user only.
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const file = `${new Date().toISOString().replace(/[:.]/g, '-')}-${d.kind.replace(/[^a-z_]/g, '') || 'mail'}-${d.id}.eml`;
      await writeFile(path.join(dir, file), info.message as Buffer, { mode: 0o600 });
      await writeFile(path.join(dir, file.replace(/\.eml$/, '.txt')), `To: ${d.mail.to}\nSubject: ${d.mail.subject}\n\n${d.mail.text}\n`, { mode: 0o600 });
      return { to_domain: recipientDomain(d.mail.to), file: path.join(dir, file) };
    },
    close: () => {},
  };
}
