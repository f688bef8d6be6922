// Passes of a background worker (the mail sender, the webhook sender) that never overlap within the process: the
// timer (every `pollIntervalMs`, unref'd), wake() and runOnce() all queue behind the pass in
// progress; one waiting pass is enough. A failing pass is a warn line at most once a minute, and
// the next poll tries again: nothing is thrown at the process.

/** A database failing is said at most this often. */
const WARN_EVERY_MS = 60_000;

export interface PassWorker<R> {
  start(): void;
  /** No further passes; the one in progress is awaited at most `stopWaitMs`. */
  stop(): Promise<void>;
  /** A pass soon (after a commit that queued work). */
  wake(): void;
  /** One pass now, after the one in progress; its failure rejects. */
  runOnce(): Promise<R>;
}

export function passWorker<R>(o: {
  pollIntervalMs: number;
  stopWaitMs: number;
  pass: (stopped: () => boolean) => Promise<R>;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  name: string;
}): PassWorker<R> {
  let timer: NodeJS.Timeout | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  let pending = 0;
  let started = false;
  let stopped = false;
  let failingSince: number | undefined;
  let warnedAt = 0;

  const enqueue = (): Promise<R> => {
    pending++;
    const next = queue.then(() => o.pass(() => stopped)).finally(() => pending--);
    queue = next.catch(() => {});
    return next;
  };
  const background = () => {
    if (stopped || pending > 1) return;
    void enqueue().then(
      () => {
        if (failingSince !== undefined) o.log.info({ failing_ms: Date.now() - failingSince }, `${o.name}: database reachable again`);
        failingSince = undefined;
      },
      (err) => {
        const t = Date.now();
        failingSince ??= t;
        if (t - warnedAt >= WARN_EVERY_MS) {
          warnedAt = t;
          o.log.warn({ err }, `${o.name}: database failed; retried at the next poll`);
        }
      },
    );
  };
  const schedule = () => {
    if (stopped || o.pollIntervalMs === 0) return;
    timer = setTimeout(() => {
      background();
      void queue.finally(schedule);
    }, o.pollIntervalMs);
    timer.unref();
  };
  return {
    start() {
      if (started || stopped) return;
      started = true;
      schedule();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      let wait: NodeJS.Timeout | undefined;
      await Promise.race([queue, new Promise((resolve) => (wait = setTimeout(resolve, o.stopWaitMs)))]);
      clearTimeout(wait);
    },
    wake: background,
    runOnce: enqueue,
  };
}
