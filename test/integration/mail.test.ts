// The outbox's sender delivers each queued mail exactly once over SMTP (or, in development without SMTP_URL, to a file), retries with bounded exponential backoff, abandons after MAIL_MAX_ATTEMPTS, shares the work between instances and processes without sending a row twice, counts it on /metrics, and never logs a mail's content.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { enqueueMail, type MailKind } from '../../src/services/mail/outbox.js';
import { backoffMs, CLAIM, MAIL_BATCH_SIZE, MAIL_LEASE_MS } from '../../src/services/mail/sender.js';
import { OWASP_ENV, requestJson, startTestGateway, type TestGateway, type TestGatewayOptions } from '../helpers/gateway.js';
import { MailCatcher, linkIn, type CaughtMail } from '../helpers/mail-catcher.js';
import { sharingEnv, spawnGateway, type GatewayProcess } from '../helpers/process.js';

/** In every body of this file: no log line may ever contain it. */
const SECRET = `tok${randomBytes(12).toString('hex')}`;
const RUN = randomBytes(4).toString('hex');
let catcher: MailCatcher;
const gateways: TestGateway[] = [];
const processes: GatewayProcess[] = [];
let serial = 0;

beforeAll(async () => {
  catcher = await MailCatcher.start();
});
afterAll(async () => {
  for (const p of processes) p.kill('SIGKILL');
  // The last test reads every gateway's log; they close here.
  for (const gw of gateways.reverse()) await gw.close();
  await catcher?.close();
});

async function start(env: Record<string, string>, options: Omit<TestGatewayOptions, 'env'> = {}): Promise<TestGateway> {
  const gw = await startTestGateway({ ...options, env: { SMTP_URL: catcher.url, ...env } });
  gateways.push(gw);
  return gw;
}

type Queued = { to: string; subject: string; text: string; html: string; kind: MailKind; tenantId: null; link: string };

/** A mail whose link carries this file's secret, and whose subject no other mail has. */
function mail(kind: MailKind = 'verify_email'): Queued {
  const n = ++serial;
  const link = `https://app.mail.test/verify-email?token=${SECRET}${n}`;
  return {
    tenantId: null,
    kind,
    to: `user${n}.${SECRET}@mail.test`,
    subject: `Verify ${RUN} #${n}`,
    text: `Open ${link} to verify your address.`,
    html: `<p><a href="${link}">Verify</a> your address.</p>`,
    link,
  };
}

/** Queue mails in one transaction, as a service does. */
async function queue(gw: TestGateway, mails: Queued[]): Promise<void> {
  await gw.orm.em.fork().transactional(async (tx) => {
    for (const { link: _, ...m } of mails) await enqueueMail(tx, gw.gateway.deps, m);
  });
}

/** Outbox rows of a gateway's database, oldest first. */
async function rows(gw: TestGateway, where = 'true', params: unknown[] = []) {
  return gw.sql<{ id: string; kind: string; status: string; payload: string | null; attempts: number; next_attempt_at: Date; sent_at: Date | null; last_error: string | null }>(
    `select * from mail_outbox where ${where} order by created_at, id`,
    params,
  );
}

async function metric(url: string, series: string): Promise<number> {
  const text = String((await requestJson(`${url}/metrics`, 'GET')).body);
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

const withSubject = (subject: string) => catcher.messages.filter((m) => m.subject === subject);

describe('settings', () => {
  it('by default the first retry comes within 5 s, no wait exceeds 60 s, and a mail gets at least 20 attempts; other bounds are refused', () => {
    const env = { DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'gw-mail-')) };
    const { mail: m } = loadConfig(env);
    expect(m.smtpUrl).toBeUndefined();
    expect(m.maxAttempts).toBeGreaterThanOrEqual(20);
    expect(m.pollIntervalMs).toBeGreaterThan(0);
    const waits = Array.from({ length: m.maxAttempts - 1 }, (_, i) => backoffMs(i + 1, m.retryBaseMs, m.retryMaxMs, 1));
    expect(waits[0]).toBeLessThanOrEqual(5000);
    expect(Math.max(...waits)).toBeLessThanOrEqual(60_000);
    expect(waits).toEqual([...waits].sort((a, b) => a - b));
    expect(() => loadConfig({ ...env, MAIL_RETRY_BASE_MS: '5001' })).toThrow(/MAIL_RETRY_BASE_MS/);
    expect(() => loadConfig({ ...env, MAIL_RETRY_MAX_MS: '60001' })).toThrow(/MAIL_RETRY_MAX_MS/);
    expect(() => loadConfig({ ...env, SMTP_URL: 'http://mail.test' })).toThrow(/SMTP_URL/);
    expect(loadConfig({ ...env, SMTP_URL: 'smtp://127.0.0.1:1025' }).mail.smtpUrl).toBe('smtp://127.0.0.1:1025');
  });
});

describe('delivery over SMTP', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await start({ MAIL_POLL_INTERVAL_MS: '1000' });
  });

  it('delivers a queued mail with its subject, text and HTML, marks it sent without payload, and counts it', async () => {
    const m = mail();
    const t0 = performance.now();
    await queue(gw, [m]);
    const got = await catcher.waitFor((x) => x.subject === m.subject, 5000);
    const pollLatency = performance.now() - t0;
    expect(got.to).toEqual([m.to]);
    expect(got.text.trim()).toBe(m.text);
    expect(got.html?.trim()).toBe(m.html);
    expect(linkIn(got, '/verify-email')).toEqual({ url: m.link, token: new URL(m.link).searchParams.get('token') });
    expect(got.parsed.from?.value[0].address).toBe(/<([^>]+)>/.exec(gw.config.mail.from)![1]);
    await expect.poll(async () => (await rows(gw))[0]?.status, { timeout: 2000, interval: 20 }).toBe('sent');
    const [row] = await rows(gw);
    expect(row).toMatchObject({ payload: null, attempts: 1, last_error: null });
    expect(row.sent_at).not.toBeNull();
    // The Message-ID names the row: a resend would be recognisably the same mail.
    expect(got.messageId).toContain(row.id);

    // Woken right after the commit instead of waiting for the poll.
    const w = mail('reset_password');
    const t1 = performance.now();
    await queue(gw, [w]);
    gw.gateway.deps.mailer!.wake();
    await catcher.waitFor((x) => x.subject === w.subject, 5000);
    const wakeLatency = performance.now() - t1;
    console.info(`mail delivery latency: ${pollLatency.toFixed(0)} ms by the ${gw.config.mail.pollIntervalMs} ms poll, ${wakeLatency.toFixed(0)} ms when woken`);
    expect(wakeLatency).toBeLessThan(gw.config.mail.pollIntervalMs);

    await expect.poll(async () => (await rows(gw, "status = 'pending'")).length, { timeout: 2000, interval: 20 }).toBe(0);
    for (const kind of ['verify_email', 'reset_password']) {
      const sent = (await rows(gw, "status = 'sent' and kind = $1", [kind])).length;
      expect(await metric(gw.url, `auth_mail_sent_total{kind="${kind}",outcome="sent"}`), kind).toBe(sent);
    }
    expect(await metric(gw.url, 'auth_mail_outbox_pending')).toBe(0);
  });
});

describe('failures', () => {
  let gw: TestGateway;
  let clock = Date.now();
  // A clock the test moves: passes run when the test says (no polling), so every wait is exact.
  beforeAll(async () => {
    gw = await start({ MAIL_POLL_INTERVAL_MS: '0' }, { deps: { now: () => new Date(clock) } });
  });
  const bounds = (attempts: number) => {
    const { retryBaseMs, retryMaxMs } = gw.config.mail;
    return [backoffMs(attempts, retryBaseMs, retryMaxMs, 0), backoffMs(attempts, retryBaseMs, retryMaxMs, 1)];
  };

  it('a refusing (4xx) and then stopped SMTP server: retried with growing waits (first within 5 s, none over 60 s), then delivered exactly once', async () => {
    const m = mail();
    await queue(gw, [m]);
    const [{ id }] = await rows(gw, 'status = $1', ['pending']);
    const row = async () => (await rows(gw, 'id = $1', [id]))[0];
    catcher.refuse(451);
    const refusedBefore = catcher.refused;
    let retried = 0;
    let sent = 0;
    try {
      const first = await gw.gateway.mailer.runOnce();
      expect(first).toMatchObject({ claimed: 1, retried: 1 });
      retried += first.retried;
      expect(catcher.refused).toBe(refusedBefore + 1);
      let r = await row();
      expect(r.attempts).toBe(1);
      expect(r.status).toBe('pending');
      expect(r.last_error).toMatch(/^\w+( E[A-Z_]+)? 451$/);
      const firstWait = r.next_attempt_at.getTime() - clock;
      expect(firstWait).toBeGreaterThanOrEqual(bounds(1)[0]);
      expect(firstWait).toBeLessThanOrEqual(Math.min(bounds(1)[1], 5000));
      // Not due yet: nothing to claim, and the gauge counts it.
      expect((await gw.gateway.mailer.runOnce()).claimed).toBe(0);
      expect(await metric(gw.url, 'auth_mail_outbox_pending')).toBe((await rows(gw, "status = 'pending'")).length);

      // Down: connection refused at every attempt, the wait doubling up to its cap.
      await catcher.stop();
      const waits = [firstWait];
      for (let attempt = 2; attempt <= 8; attempt++) {
        clock = r.next_attempt_at.getTime();
        const pass = await gw.gateway.mailer.runOnce();
        expect(pass).toMatchObject({ claimed: 1, retried: 1 });
        retried += pass.retried;
        r = await row();
        expect(r.attempts).toBe(attempt);
        expect(r.last_error).not.toContain('451');
        const wait = r.next_attempt_at.getTime() - clock;
        expect(wait).toBeGreaterThanOrEqual(bounds(attempt)[0]);
        expect(wait).toBeLessThanOrEqual(Math.min(bounds(attempt)[1], 60_000));
        waits.push(wait);
      }
      expect(Math.max(...waits)).toBeGreaterThan(gw.config.mail.retryMaxMs / 2);
      expect(withSubject(m.subject)).toHaveLength(0);

      // Back, and accepting: delivered once, on the next due pass.
      await catcher.restart();
      catcher.accept();
      expect((await gw.gateway.mailer.runOnce()).claimed).toBe(0);
      clock = r.next_attempt_at.getTime();
      const last = await gw.gateway.mailer.runOnce();
      expect(last).toMatchObject({ claimed: 1, sent: 1 });
      sent += last.sent;
      await catcher.waitFor((x) => x.subject === m.subject);
      r = await row();
      expect(r).toMatchObject({ status: 'sent', payload: null, attempts: 9, last_error: null });
      clock += 10 * MAIL_LEASE_MS;
      expect((await gw.gateway.mailer.runOnce()).claimed).toBe(0);
      await sleep(200);
      expect(withSubject(m.subject)).toHaveLength(1);
    } finally {
      catcher.accept();
      if (!catcher.listening) await catcher.restart();
    }
    expect(await metric(gw.url, 'auth_mail_sent_total{kind="verify_email",outcome="retried"}')).toBe(retried);
    expect(await metric(gw.url, 'auth_mail_sent_total{kind="verify_email",outcome="sent"}')).toBe(sent);
  });

  it('a row claimed by a sender that died is leased: no one sends it until the lease ends, then it goes once', async () => {
    const m = mail();
    await queue(gw, [m]);
    const now = new Date(clock);
    // What the dead sender did before it could deliver: the real claim.
    const claimed = await gw.orm.em.fork().getConnection().execute<Array<{ id: string }>>(CLAIM, [new Date(clock + MAIL_LEASE_MS), now, MAIL_BATCH_SIZE], 'all');
    expect(claimed).toHaveLength(1);
    expect((await gw.gateway.mailer.runOnce()).claimed).toBe(0);
    clock += MAIL_LEASE_MS - 1;
    expect((await gw.gateway.mailer.runOnce()).claimed).toBe(0);
    clock += 1;
    expect(await gw.gateway.mailer.runOnce()).toMatchObject({ claimed: 1, sent: 1 });
    await catcher.waitFor((x) => x.subject === m.subject);
    expect((await rows(gw, 'id = $1', [claimed[0].id]))[0]).toMatchObject({ status: 'sent', attempts: 2 });
    expect(withSubject(m.subject)).toHaveLength(1);
  });

  it('MAIL_MAX_ATTEMPTS=2 with the server down: abandoned, payload dropped, counted, never sent', async () => {
    const short = await start({ MAIL_POLL_INTERVAL_MS: '0', MAIL_MAX_ATTEMPTS: '2' }, { deps: { now: () => new Date(clock) } });
    const m = mail('password_changed');
    await queue(short, [m]);
    const [{ id }] = await rows(short, 'status = $1', ['pending']);
    await catcher.stop();
    try {
      expect(await short.gateway.mailer.runOnce()).toMatchObject({ claimed: 1, retried: 1 });
      clock = (await rows(short, 'id = $1', [id]))[0].next_attempt_at.getTime();
      expect(await short.gateway.mailer.runOnce()).toMatchObject({ claimed: 1, abandoned: 1 });
    } finally {
      await catcher.restart();
    }
    const [r] = await rows(short, 'id = $1', [id]);
    expect(r).toMatchObject({ status: 'abandoned', payload: null, attempts: short.config.mail.maxAttempts });
    expect(r.last_error).toMatch(/^\w+( E[A-Z_]+)?( \d{3})?$/);
    clock += 10 * MAIL_LEASE_MS;
    expect((await short.gateway.mailer.runOnce()).claimed).toBe(0);
    await sleep(200);
    expect(withSubject(m.subject)).toHaveLength(0);
    const abandoned = (await rows(short, "status = 'abandoned' and kind = 'password_changed'")).length;
    expect(await metric(short.url, 'auth_mail_sent_total{kind="password_changed",outcome="abandoned"}')).toBe(abandoned);
    expect(await metric(short.url, 'auth_mail_sent_total{kind="password_changed",outcome="retried"}')).toBe(r.attempts - 1);
    const line = short
      .logs()
      .split('\n')
      .filter((l) => l.includes('mail abandoned'))
      .map((l) => JSON.parse(l));
    expect(line).toHaveLength(1);
    expect(line[0]).toMatchObject({ level: 40, mail_id: id, kind: 'password_changed', attempts: r.attempts, mail_error: r.last_error });
  });

  it('a database failure is one warn line, the process carries on, and mail goes out once the database is back', async () => {
    const faulty = await start({ MAIL_POLL_INTERVAL_MS: '50' }, { proxy: true });
    faulty.proxy!.refuse();
    try {
      await expect.poll(() => faulty.logs().includes('mail sender: database failed'), { timeout: 5000, interval: 20 }).toBe(true);
      await sleep(500); // several more failed polls
      expect((await requestJson(`${faulty.url}/healthz`, 'GET')).status).toBe(200);
    } finally {
      await faulty.proxy!.restore();
    }
    const warns = faulty
      .logs()
      .split('\n')
      .filter((l) => l.includes('mail sender: database failed'))
      .map((l) => JSON.parse(l));
    expect(warns).toHaveLength(1);
    expect(warns[0]).toMatchObject({ level: 40 });
    expect(warns[0].err.type).toBeDefined();
    const m = mail();
    await queue(faulty, [m]);
    await catcher.waitFor((x) => x.subject === m.subject);
    await expect.poll(() => faulty.logs().includes('mail sender: database reachable again'), { timeout: 2000, interval: 20 }).toBe(true);
  });
});

describe('several senders on one database', () => {
  const expectOnce = async (mails: Queued[], gw: TestGateway) => {
    for (const m of mails) await catcher.waitFor((x) => x.subject === m.subject, 10_000);
    await sleep(300);
    for (const m of mails) expect(withSubject(m.subject), m.subject).toHaveLength(1);
    const ids = catcher.messages.filter((x) => mails.some((m) => m.subject === x.subject)).map((x) => x.messageId);
    expect(new Set(ids).size).toBe(mails.length);
    const done = await rows(gw);
    expect(done.filter((r) => r.status !== 'sent')).toEqual([]);
    // One claim per row: nobody took a row another sender held.
    expect(done.map((r) => r.attempts)).toEqual(done.map(() => 1));
  };

  it('two gateways in this process draining 30 mails at once: each mail arrives exactly once', async () => {
    const a = await start({ MAIL_POLL_INTERVAL_MS: '0' });
    const b = await start({ MAIL_POLL_INTERVAL_MS: '0', SECRET_KEY: a.config.secretKey }, { databaseUrl: a.databaseUrl });
    const mails = Array.from({ length: 30 }, () => mail());
    await queue(a, mails);
    const [pa, pb] = await Promise.all([a.gateway.mailer.drain(), b.gateway.mailer.drain()]);
    expect(pa.claimed + pb.claimed).toBe(mails.length);
    expect(pa.sent + pb.sent).toBe(mails.length);
    // Both took part: the second claim skipped the rows the first held.
    expect(pa.sent).toBeGreaterThan(0);
    expect(pb.sent).toBeGreaterThan(0);
    await expectOnce(mails, a);
  });

  it('a second gateway process polling the same outbox: each mail arrives exactly once', async () => {
    const a = await start({ MAIL_POLL_INTERVAL_MS: '20' });
    const b = await spawnGateway({
      ...sharingEnv(a),
      SMTP_URL: catcher.url,
      MAIL_POLL_INTERVAL_MS: '20',
      PURGE_INTERVAL_SECONDS: '0',
    });
    processes.push(b);
    const mails = Array.from({ length: 30 }, () => mail());
    // A slow server keeps a batch busy for a while, so the other process's poll claims the next one.
    catcher.delayMs = 50;
    try {
      await queue(a, mails);
      await expectOnce(mails, a);
    } finally {
      catcher.delayMs = 0;
    }
    const here = await metric(a.url, 'auth_mail_sent_total{kind="verify_email",outcome="sent"}');
    const there = await metric(b.url, 'auth_mail_sent_total{kind="verify_email",outcome="sent"}');
    console.info(`30 mails, two processes polling every 20 ms: ${here} sent by this process, ${there} by the other`);
    expect(here + there).toBe(mails.length);
    expect(here).toBeGreaterThan(0);
    expect(there).toBeGreaterThan(0);
    expect(b.output()).toContain('mail sender started');
  });
});

describe('without SMTP_URL', () => {
  it('development: the whole mail goes to an .eml file under DATA_DIR/mail, and the log line names the file without the link', async () => {
    const gw = await start({ SMTP_URL: '', MAIL_POLL_INTERVAL_MS: '0' });
    expect(gw.gateway.mailer.mode).toBe('files');
    const m = mail();
    await queue(gw, [m]);
    gw.gateway.deps.mailer!.wake();
    await expect.poll(async () => (await rows(gw))[0]?.status, { timeout: 3000, interval: 20 }).toBe('sent');
    const dir = path.join(gw.config.dataDir, 'mail');
    const [eml, txt, ...more] = readdirSync(dir).sort();
    const files = [eml];
    expect(more).toEqual([]);
    expect(files[0]).toMatch(/\.eml$/);
    expect(txt).toBe(eml.replace(/\.eml$/, '.txt'));
    for (const f of [eml, txt]) expect(statSync(path.join(dir, f)).mode & 0o077).toBe(0);
    // The text part as it reads, with its link whole on one line (the .eml is quoted-printable).
    const text = readFileSync(path.join(dir, txt), 'utf8');
    expect(text).toBe(`To: ${m.to}\nSubject: ${m.subject}\n\n${m.text}\n`);
    expect(text).toContain(m.link);
    const parsed = await simpleParser(readFileSync(path.join(dir, files[0])));
    expect(parsed.subject).toBe(m.subject);
    expect(parsed.text?.trim()).toBe(m.text);
    expect(typeof parsed.html === 'string' && parsed.html.trim()).toBe(m.html);
    expect(parsed.to && !Array.isArray(parsed.to) && parsed.to.value[0].address).toBe(m.to);
    expect(linkIn({ text: parsed.text ?? '' }, '/verify-email').url).toBe(m.link);
    const lines = gw
      .logs()
      .split('\n')
      .filter((l) => l.includes('mail written to a file'))
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 30, kind: m.kind, to_domain: m.to.split('@')[1], file: path.join(dir, files[0]) });
    expect(gw.logs()).not.toContain(SECRET);
    expect(gw.logs()).not.toContain(m.to.split('@')[0]);
  });

  it('production: mail stays queued, and the start says so once', async () => {
    const gw = await start({ SMTP_URL: '', MAIL_POLL_INTERVAL_MS: '0', NODE_ENV: 'production', WEBAUTHN_RP_ID: 'auth.test.example', ...OWASP_ENV });
    expect(gw.gateway.mailer.mode).toBe('off');
    const warns = gw
      .logs()
      .split('\n')
      .filter((l) => l.includes('SMTP_URL is unset'))
      .map((l) => JSON.parse(l));
    expect(warns).toHaveLength(1);
    expect(warns[0].level).toBe(40);
    await queue(gw, [mail()]);
    expect((await gw.gateway.mailer.runOnce()).claimed).toBe(0);
    const all = await rows(gw);
    expect(all.map((r) => [r.status, r.attempts])).toEqual([['pending', 0]]);
    expect(all[0].payload).not.toBeNull();
    expect(await metric(gw.url, 'auth_mail_outbox_pending')).toBe(all.length);
  });
});

describe('logs', () => {
  it('no log line of any gateway or process of this file holds a mail\'s text, link or recipient', async () => {
    const everything = [...gateways.map((g) => g.logs()), ...processes.map((p) => p.output())].join('\n');
    expect(everything).toContain('mail sent');
    expect(everything).not.toContain(SECRET);
    expect(catcher.messages.filter((m: CaughtMail) => m.text.includes(SECRET)).length).toBeGreaterThan(60);
  });
});
