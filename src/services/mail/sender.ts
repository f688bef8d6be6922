// The sending side of the mail outbox (docs/accounts.md, Mail). Every instance runs one sender. A pass
// claims due rows in one short statement (autocommit) that locks them with FOR UPDATE SKIP
// LOCKED, counts the attempt and pushes next_attempt_at forward by a lease: another instance's
// claim skips the locked rows while the statement runs, and once it has committed the rows are
// no longer due, so two senders never hold one row at once. The pass then delivers each row
// and marks it, fenced by the attempt it claimed (`attempts = ?`): sent (payload dropped), or
// a retry after an exponential backoff, or, after MAIL_MAX_ATTEMPTS, abandoned (payload
// dropped). A sender that dies mid-pass leaves its rows leased; they come due again when the
// lease ends. Deliveries are bounded (SEND_DEADLINE_MS) well inside the lease.
//
// Passes never overlap within a sender: the timer (every MAIL_POLL_INTERVAL_MS, unref'd),
// wake() and runOnce() all queue behind the pass in progress. A database or SMTP failure is a
// warn line (class and codes only: never a recipient, subject, body or link) and the next
// pass tries again; nothing is thrown at the process.
import type { Config } from '../../config.js';
import type { Db } from '../../db/orm.js';
import { passWorker } from '../shared/passes.js';
import { openMail } from './outbox.js';
import { describeFailure, fileTransport, smtpTransport, type MailTransport } from './transport.js';

/** Rows claimed by one statement. */
export const MAIL_BATCH_SIZE = 10;
/** How long a claim keeps a row from other senders (a sender that dies mid-pass: its rows come due again after this). */
export const MAIL_LEASE_MS = 120_000;
/** A delivery taking longer than this counts as failed (the lease must outlast a whole batch). */
export const SEND_DEADLINE_MS = 45_000;
/** stop() waits this long for the pass in progress before closing the SMTP pool (its rows then wait for their lease). */
const STOP_WAIT_MS = 5000;

/** Backoff before retry number `attempt` (1 = the wait after the first failure): base · 2^(attempt-1), at most max, jittered down to half. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random = Math.random()): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return Math.round(ceiling * (0.5 + random / 2));
}

export const CLAIM = `
update mail_outbox set attempts = attempts + 1, next_attempt_at = ?
 where id = any(array(
   select id from mail_outbox where status = 'pending' and next_attempt_at <= ?
    order by next_attempt_at limit ? for update skip locked))
   and status = 'pending'
returning id, kind, payload, attempts`;
export const MARK_SENT = `update mail_outbox set status = 'sent', sent_at = ?, payload = null, last_error = null where id = ? and attempts = ? and status = 'pending'`;
export const MARK_RETRY = `update mail_outbox set next_attempt_at = ?, last_error = ? where id = ? and attempts = ? and status = 'pending'`;
export const MARK_ABANDONED = `update mail_outbox set status = 'abandoned', payload = null, last_error = ? where id = ? and attempts = ? and status = 'pending'`;

/** What became of one delivery (the `outcome` label of auth_mail_sent_total). */
export type MailOutcome = 'sent' | 'retried' | 'abandoned';

export interface MailPass {
  claimed: number;
  sent: number;
  retried: number;
  abandoned: number;
}

export interface MailLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface MailSender {
  /** 'smtp', 'files' (development without SMTP_URL) or 'off' (production without SMTP_URL: mail stays queued). */
  readonly mode: 'smtp' | 'files' | 'off';
  /** Poll every MAIL_POLL_INTERVAL_MS (0: only when woken); in 'off' mode, say once that mail stays queued. */
  start(): void;
  /** No further passes; the one in progress is awaited (at most STOP_WAIT_MS), then the SMTP pool closes. */
  stop(): Promise<void>;
  /** A pass soon (call it after committing a transaction that queued mail). */
  wake(): void;
  /** One pass now, after the one in progress; a database failure rejects. */
  runOnce(): Promise<MailPass>;
  /** Passes until one claims nothing: everything due now is delivered or rescheduled. */
  drain(): Promise<MailPass>;
}

export interface MailSenderOptions {
  config: Pick<Config, 'mail' | 'production' | 'dataDir' | 'secretKey'>;
  orm: Db;
  now: () => Date;
  log: MailLog;
  /** Told about every delivery (metrics). */
  observe?: (kind: string, outcome: MailOutcome) => void;
  /** Replace the transport (tests). */
  transport?: MailTransport;
}

/** Mails waiting to be sent, for the gauge (one index scan). */
export async function countPendingMail(orm: Db): Promise<number> {
  const [row] = await orm.em.fork().getConnection().execute<Array<{ n: number }>>(`select count(*)::int as n from mail_outbox where status = 'pending'`, [], 'all');
  return row.n;
}

interface Claimed {
  id: string;
  kind: string;
  payload: string | null;
  attempts: number;
}

const withDeadline = <T>(p: Promise<T>, ms: number): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('delivery deadline passed'), { name: 'DeliveryTimeout' })), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
};

export function createMailSender(options: MailSenderOptions): MailSender {
  const { config, orm, log } = options;
  const settings = config.mail;
  const transport: MailTransport | undefined =
    options.transport ??
    (settings.smtpUrl ? smtpTransport(config, (err) => log.warn({ mail_error: describeFailure(err) }, 'mail: SMTP connection failed')) : config.production ? undefined : fileTransport(config));
  const mode = transport?.mode ?? 'off';
  const connection = () => orm.em.fork().getConnection();

  async function deliver(row: Claimed): Promise<MailOutcome> {
    const db = connection();
    let failure: string | undefined;
    let facts: Record<string, string> = {};
    const t0 = performance.now();
    if (row.attempts > settings.maxAttempts || row.payload === null) {
      failure = row.payload === null ? 'NoPayload' : 'LeaseExpired';
    } else {
      try {
        facts = await withDeadline(transport!.deliver({ id: row.id, kind: row.kind, mail: openMail(config, row.payload) }), SEND_DEADLINE_MS);
      } catch (e) {
        failure = describeFailure(e);
      }
    }
    const at = options.now();
    const base = { mail_id: row.id, kind: row.kind, attempts: row.attempts };
    let outcome: MailOutcome;
    if (failure === undefined) {
      outcome = 'sent';
      await db.execute(MARK_SENT, [at, row.id, row.attempts], 'run');
      log.info({ ...base, ...facts, duration_ms: Math.round(performance.now() - t0) }, mode === 'files' ? 'mail written to a file (SMTP_URL is unset)' : 'mail sent');
    } else if (row.attempts >= settings.maxAttempts || row.payload === null) {
      outcome = 'abandoned';
      await db.execute(MARK_ABANDONED, [failure, row.id, row.attempts], 'run');
      log.warn({ ...base, mail_error: failure }, 'mail abandoned: delivery failed MAIL_MAX_ATTEMPTS times');
    } else {
      outcome = 'retried';
      const wait = backoffMs(row.attempts, settings.retryBaseMs, settings.retryMaxMs);
      await db.execute(MARK_RETRY, [new Date(at.getTime() + wait), failure, row.id, row.attempts], 'run');
      log.warn({ ...base, mail_error: failure, retry_in_ms: wait }, 'mail delivery failed; retried later');
    }
    options.observe?.(row.kind, outcome);
    return outcome;
  }

  async function pass(stopped: () => boolean): Promise<MailPass> {
    const result: MailPass = { claimed: 0, sent: 0, retried: 0, abandoned: 0 };
    if (!transport) return result;
    for (let round = 0; round < 100 && !stopped(); round++) {
      const now = options.now();
      const rows = await connection().execute<Claimed[]>(CLAIM, [new Date(now.getTime() + MAIL_LEASE_MS), now, MAIL_BATCH_SIZE], 'all');
      result.claimed += rows.length;
      // A failed mark leaves its row leased: it comes due again after the lease (and may be sent again).
      const outcomes = await Promise.allSettled(rows.map(deliver));
      for (const o of outcomes) if (o.status === 'fulfilled') result[o.value]++;
      const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failed) throw failed.reason;
      if (rows.length < MAIL_BATCH_SIZE) break;
    }
    return result;
  }

  // Passes one after another, never two at once (shared/passes.ts).
  const worker = passWorker({ pollIntervalMs: settings.pollIntervalMs, stopWaitMs: STOP_WAIT_MS, pass, log, name: 'mail sender' });
  let stopped = false;
  let started = false;

  return {
    mode,
    start() {
      if (started || stopped) return;
      started = true;
      if (!transport) {
        log.warn({ mail_mode: 'off' }, 'SMTP_URL is unset in production: mail stays queued in mail_outbox until an instance with SMTP_URL sends it');
        return;
      }
      log.info({ mail_mode: mode, poll_interval_ms: settings.pollIntervalMs }, 'mail sender started');
      worker.start();
    },
    async stop() {
      stopped = true;
      await worker.stop();
      transport?.close();
    },
    wake: () => worker.wake(),
    runOnce: () => worker.runOnce(),
    async drain() {
      const total: MailPass = { claimed: 0, sent: 0, retried: 0, abandoned: 0 };
      for (;;) {
        const p = await worker.runOnce();
        for (const k of Object.keys(total) as Array<keyof MailPass>) total[k] += p[k];
        if (p.claimed === 0 || stopped) return total;
      }
    },
  };
}
