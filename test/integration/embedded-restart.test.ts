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
