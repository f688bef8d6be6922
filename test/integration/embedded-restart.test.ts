// After a SIGKILL leaves the embedded PostgreSQL running, the next start stops that stale server (saying so in one log line) and comes up; SIGTERM then leaves no server behind.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Started {
  proc: ChildProcess;
  url: string;
  output(): string;
  exited: Promise<number | null>;
}

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'gw-restart-'));
const pgDir = path.join(dataDir, 'pg');
const started: Started[] = [];

/** npm test builds first (pretest); a lone run of this file builds when a source is newer than dist/. */
function buildIfStale(): void {
  const builtAt = statSync('dist/.tsbuildinfo', { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const newest = (readdirSync('src', { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts'))
    .reduce((max, f) => Math.max(max, statSync(path.join('src', f)).mtimeMs), 0);
  if (newest > builtAt) spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
  expect(existsSync('dist/src/main.js')).toBe(true);
}

/** `node dist/src/main.js` with DATABASE_URL unset (embedded PostgreSQL), until it listens. */
async function startGateway(): Promise<Started> {
  const proc = spawn(process.execPath, ['dist/src/main.js'], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'development', DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const gateway = { proc, url: '', output: () => out, exited };
  started.push(gateway);
  gateway.url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${out}`)), 90_000);
    proc.stdout!.on('data', () => {
      const line = out.split('\n').find((l) => l.includes('auth gateway listening'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line).graphql.replace(/\/graphql$/, ''));
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`gateway exited:\n${out}`));
    });
  });
  return gateway;
}

/** The server pid PostgreSQL wrote into the data folder. */
const postmasterPid = () => Number(readFileSync(path.join(pgDir, 'postmaster.pid'), 'utf8').split('\n')[0]);

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
};
const isZombie = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
};
const isPostgresOfDataDir = (pid: number) => {
  const c = cmdline(pid);
  return c !== undefined && !isZombie(pid) && c.includes('postgres') && c.includes(pgDir);
};
/** Every live process whose command line names the postgres binary and this data folder. */
const postgresOfDataDir = () =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter(isPostgresOfDataDir);

async function get(url: string) {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

/**
 * The first start's promises to a newcomer (SPEC §16): the admin's password is printed once with
 * the command that sets another, and the demo page on a host name passkeys accept; the admin
 * holds every permission the README's examples use (invite a user, read the audit log); the
 * demo page opened on 127.0.0.1 sends the browser to localhost.
 */
async function expectFirstHour(g: Started): Promise<void> {
  // Printed just after the listening line that startGateway waited for.
  await expect.poll(() => g.output()).toContain('Demo sign-in page');
  const out = g.output();
  const password = /Admin: admin@demo\.test {2}password: (\S+)/.exec(out)?.[1];
  expect(password, out.slice(-2000)).toBeTruthy();
  expect(out).toContain('set another with: npm run admin -- user password admin@demo.test --tenant demo --password-stdin');
  const port = new URL(g.url).port;
  expect(out).toContain(`Demo sign-in page: http://localhost:${port}/demo`);

  const post = (route: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${g.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: await r.json() }));
  const login = await post('/auth/login', { tenant: 'demo', email: 'admin@demo.test', password });
  expect(login.status, JSON.stringify(login.body)).toBe(200);
  const auth = { authorization: `Bearer ${login.body.access_token}` };
  const invited = await post('/graphql', { query: 'mutation { inviteUser(input: {email: "colleague@demo.test", roles: ["admin"]}) { id status } }' }, auth);
  expect(invited.body, JSON.stringify(invited.body)).toMatchObject({ data: { inviteUser: { status: 'PENDING' } } });
  const audit = await post('/graphql', { query: '{ auditEvents(first: 5) { edges { node { type } } } }' }, auth);
  expect(audit.body.errors, JSON.stringify(audit.body)).toBeUndefined();
  expect(audit.body.data.auditEvents.edges.map((e: { node: { type: string } }) => e.node.type)).toContain('user_invited');

  // The admin CLI joins the running gateway's embedded server instead of refusing to start.
  const cli = spawnSync(process.execPath, ['dist/src/cli/admin.js', 'tenant', 'create', 'second', '--name', 'Second'], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'development', DATA_DIR: dataDir },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(cli.status, `${cli.stdout}${cli.stderr}`).toBe(0);
  expect(cli.stdout).toMatch(/^tenant second created/);
  expect((await get(`${g.url}/readyz`)).status).toBe(200);

  const redirect = await fetch(`${g.url}/demo`, { redirect: 'manual' });
  expect(redirect.status).toBe(302);
  expect(redirect.headers.get('location')).toBe(`http://localhost:${port}/demo`);
}

beforeAll(() => {
  buildIfStale();
}, 120_000);

afterAll(async () => {
  for (const g of started) g.proc.kill('SIGKILL');
  for (const pid of postgresOfDataDir()) process.kill(pid, 'SIGINT');
  for (let i = 0; i < 50 && postgresOfDataDir().length; i++) await new Promise((r) => setTimeout(r, 100));
  rmSync(dataDir, { recursive: true, force: true });
});

describe('embedded PostgreSQL after a hard kill', () => {
  it.skipIf(process.platform !== 'linux')(
    'a SIGKILLed gateway leaves its server running; the next start stops it, serves, and shuts down leaving none',
    async () => {
      const first = await startGateway();
      await expectFirstHour(first);
      const stalePid = postmasterPid();
      expect(isPostgresOfDataDir(stalePid)).toBe(true);

      first.proc.kill('SIGKILL');
      await first.exited;
      // The gateway is gone, its server is not: it still holds the data folder.
      expect(isPostgresOfDataDir(stalePid), first.output().slice(-2000)).toBe(true);
      expect(postmasterPid()).toBe(stalePid);

      const second = await startGateway();
      expect((await get(`${second.url}/healthz`)).status).toBe(200);
      const ready = await get(`${second.url}/readyz`);
      expect(ready.status, ready.body).toBe(200);

      // Exactly one line says what became of the stale server, and names it.
      const lines = second
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg: string; postgres_pid?: number });
      const about = lines.filter((l) => /stale/i.test(l.msg));
      expect(about, JSON.stringify(about)).toHaveLength(1);
      expect(about[0].msg).toMatch(/stopped a stale server/);
      expect(about[0].postgres_pid).toBe(stalePid);
      expect(isPostgresOfDataDir(stalePid)).toBe(false);

      const freshPid = postmasterPid();
      expect(freshPid).not.toBe(stalePid);
      expect(postgresOfDataDir()).toEqual([freshPid]);

      second.proc.kill('SIGTERM');
      expect(await second.exited, second.output().slice(-2000)).toBe(0);
      expect(second.output()).toContain('shut down cleanly');
      expect(postgresOfDataDir()).toEqual([]);
      expect(existsSync(path.join(pgDir, 'postmaster.pid'))).toBe(false);
    },
    240_000,
  );
});
