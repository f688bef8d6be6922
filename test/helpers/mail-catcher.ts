// An SMTP server in the test process (smtp-server: no auth, no TLS, 127.0.0.1, an ephemeral
// port) that parses every message it accepts (mailparser) and keeps it. Tests point a
// gateway's SMTP_URL at `url`, then wait for a message, follow its link, make the server
// refuse (4xx/5xx to DATA) or go down and come back on the same port.
import type { AddressInfo } from 'node:net';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface CaughtMail {
  /** Recipient addresses of the envelope (RCPT TO). */
  to: string[];
  /** The envelope sender (MAIL FROM). */
  from: string;
  /** The From header as written (name and address). */
  fromHeader: string;
  subject: string;
  text: string;
  /** The HTML part, when there is one. */
  html: string | undefined;
  /** The Message-ID header, angle brackets included. */
  messageId: string | undefined;
  /** The whole message as received. */
  raw: string;
  parsed: ParsedMail;
}

type Waiter = { predicate: (m: CaughtMail) => boolean; resolve: (m: CaughtMail) => void };

const addressText = (a: AddressObject | AddressObject[] | undefined) => (Array.isArray(a) ? a.map((x) => x.text).join(', ') : (a?.text ?? ''));

export class MailCatcher {
  /** Every message accepted so far, in order of arrival. */
  readonly messages: CaughtMail[] = [];
  /** DATA commands answered with an error (see refuse()). */
  refused = 0;
  port = 0;
  /** Milliseconds each DATA waits before its answer (a slow server); 0 by default. */
  delayMs = 0;
  private server: SMTPServer | undefined;
  private refusing: number | undefined;
  private waiters = new Set<Waiter>();

  private constructor() {}

  static async start(): Promise<MailCatcher> {
    const catcher = new MailCatcher();
    await catcher.listen(0);
    return catcher;
  }

  /** Up (not stopped). */
  get listening(): boolean {
    return this.server !== undefined;
  }

  /** smtp://127.0.0.1:<port>, for SMTP_URL. */
  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  private async listen(port: number): Promise<void> {
    const server = new SMTPServer({
      secure: false,
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      logger: false,
      // stop() means down now: open connections get 421 at once instead of after 30 s.
      closeTimeout: 1,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        // The session's envelope is reset once the message is answered: read it now.
        const to = session.envelope.rcptTo.map((r) => r.address);
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('error', callback);
        stream.on('end', async () => {
          if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
          if (this.refusing !== undefined) {
            this.refused++;
            const code = this.refusing;
            return callback(Object.assign(new Error(code >= 500 ? 'Refused by the test' : 'Try again later (test)'), { responseCode: code }));
          }
          const raw = Buffer.concat(chunks);
          simpleParser(raw).then(
            (parsed) => {
              this.keep({
                to,
                from,
                fromHeader: addressText(parsed.from),
                subject: parsed.subject ?? '',
                text: parsed.text ?? '',
                html: parsed.html === false ? undefined : parsed.html,
                messageId: parsed.messageId,
                raw: raw.toString('utf8'),
                parsed,
              });
              callback();
            },
            (err) => callback(err),
          );
        });
      },
    });
    server.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.server.address() as AddressInfo).port;
  }

  private keep(m: CaughtMail) {
    this.messages.push(m);
    for (const w of this.waiters) {
      if (w.predicate(m)) {
        this.waiters.delete(w);
        w.resolve(m);
      }
    }
  }

  /** The first message (already here or still to come) that matches; rejects after `timeoutMs`. */
  waitFor(predicate: (m: CaughtMail) => boolean = () => true, timeoutMs = 5000): Promise<CaughtMail> {
    const found = this.messages.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no matching mail within ${timeoutMs} ms; subjects so far: ${JSON.stringify(this.messages.map((m) => m.subject))}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Answer every DATA with `code` (4xx: try later; 5xx: refused) until accept(). */
  refuse(code = 451): void {
    this.refusing = code;
  }

  accept(): void {
    this.refusing = undefined;
  }

  /** Down: stop listening and drop open connections (connection refused from now on). Messages are kept. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Up again on the same port. */
  async restart(): Promise<void> {
    await this.stop();
    await this.listen(this.port);
  }

  async close(): Promise<void> {
    await this.stop();
    this.waiters.clear();
  }
}

/**
 * The first link in the text part whose path is `path` (e.g. '/verify-email'), and its
 * `token` query parameter. Throws when the text has no such link.
 */
export function linkIn(message: Pick<CaughtMail, 'text'>, path: string): { url: string; token: string | null } {
  for (const [candidate] of message.text.matchAll(/https?:\/\/[^\s<>"'\])]+/g)) {
    let url: URL;
    try {
      url = new URL(candidate);
    } catch {
      continue;
    }
    if (url.pathname === path || url.pathname.endsWith(path)) return { url: url.toString(), token: url.searchParams.get('token') };
  }
  throw new Error(`no link to ${path} in the mail's text`);
}
