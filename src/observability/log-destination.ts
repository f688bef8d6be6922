// Where the gateway's JSON log lines go: stdout, asynchronously, in batches, and every
// line out within FLUSH_INTERVAL_MS whatever the traffic.
//
// A line is appended to SonicBoom's in-memory buffer (pino.destination, sync: false); the
// buffer goes to fd 1 in one asynchronous write when it reaches MIN_LENGTH (busy traffic)
// or when the flush timer next fires (quiet traffic), so an error's line reaches stdout
// within a quarter of a second instead of waiting for 4 KB of other lines. The timer is
// unref'd (it never keeps the process alive) and only writes when something was logged.
//
// Why not pino's transport worker: it moves the write off the main thread, but every line
// still costs a copy into the shared buffer plus an Atomics wake-up of the worker, and the
// worker is a second V8 isolate (tens of MB, a second busy thread on a small machine). Here
// a line costs a string append; the write syscall happens at most once per 4 KB or per tick.
//
// pino.destination also flushes synchronously on process exit (uncaught exception,
// process.exit), and stops writing on EPIPE; both are kept.
import pino from 'pino';

export const FLUSH_INTERVAL_MS = 250;
const MIN_LENGTH = 4096;

export interface LogDestination {
  /** pino's stream interface: the hot path, a buffer append. */
  write(line: string): void;
  /** Write out what is buffered; `cb` once it is written (main.ts flushes at start-up and shutdown). */
  flush(cb?: (err?: Error) => void): void;
  /** pino calls it for fatal lines; the exit handler does the same on its own. */
  flushSync(): void;
  /** Stop the timer and flush (app close). Later lines still go out on flush() or at exit. */
  stop(): void;
}

export function stdoutLogDestination(intervalMs = FLUSH_INTERVAL_MS): LogDestination {
  const sonic = pino.destination({ dest: 1, sync: false, minLength: MIN_LENGTH });
  // Lines written since the last tick. A flush asked for while a write is in flight does
  // nothing (SonicBoom leaves what arrived meanwhile for the next write), so a tick after
  // activity is followed by one more.
  let written = false;
  let again = false;
  const flushNow = () => {
    try {
      sonic.flush();
    } catch {
      // Ended by pino's exit handler (beforeExit): nothing more can be written.
    }
  };
  const tick = () => {
    if (written) {
      written = false;
      again = true;
      flushNow();
    } else if (again) {
      again = false;
      flushNow();
    }
  };
  let timer: NodeJS.Timeout | undefined = setInterval(tick, intervalMs);
  timer.unref();
  return {
    write(line) {
      written = true;
      sonic.write(line);
    },
    flush(cb) {
      sonic.flush(cb);
    },
    flushSync() {
      sonic.flushSync();
    },
    stop() {
      if (timer === undefined) return;
      clearInterval(timer);
      timer = undefined;
      if (written) {
        written = false;
        flushNow();
      }
    },
  };
}
