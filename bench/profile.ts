// Where a CPU profile's time went: the self time of its samples, by package (or part of the
// gateway) and by function, as a share of the busy time (idle excluded).
// `npm run bench -- --only <scenario> --profile` prints this for the scenarios' profile;
// `node dist/bench/profile.js <file.cpuprofile> [top]` for any profile.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  /** Microseconds of the monotonic clock, as process.hrtime in any process of the machine. */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The part of the code a frame belongs to: a package, a Node module, a directory of the gateway, or V8 itself. */
export function placeOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(V8 builtins and native code)';
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + '/node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const own = /\/dist\/(src|bench)\/(.*)\/[^/]+$/.exec(url) ?? /\/dist\/(src|bench)\/()[^/]+$/.exec(url);
  if (own) return `gateway ${own[1]}/${own[2]}`.replace(/\/$/, '');
  return url.split('/').pop() ?? url;
}

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  places: Array<{ place: string; ms: number; share: number }>;
  functions: Array<{ name: string; place: string; ms: number; share: number }>;
}

/**
 * `windows` (the monotonic clock in microseconds, [from, to]) keeps only the samples inside
 * them (the scenarios, not the start-up or other load); none keeps every sample.
 */
export function summariseProfile(profile: CpuProfile, top = 15, windows: Array<[number, number]> = []): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; the time of a sample is the next one's delta.
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i];
    if (!windows.length || windows.some(([from, to]) => at >= from && at < to)) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  });
  let idle = 0;
  const places = new Map<string, number>();
  const functions = new Map<string, { name: string; place: string; us: number }>();
  for (const [id, us] of self) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const place = placeOf(frame);
    places.set(place, (places.get(place) ?? 0) + us);
    const key = `${frame.functionName}|${frame.url}|${frame.lineNumber}`;
    const f = functions.get(key) ?? { name: `${frame.functionName || '(anonymous)'}${frame.url ? `:${frame.lineNumber + 1}` : ''}`, place, us: 0 };
    f.us += us;
    functions.set(key, f);
  }
  const busy = [...places.values()].reduce((a, b) => a + b, 0);
  const share = (us: number) => (busy ? us / busy : 0);
  return {
    busyMs: busy / 1000,
    idleMs: idle / 1000,
    places: [...places].sort((a, b) => b[1] - a[1]).slice(0, top).map(([place, us]) => ({ place, ms: us / 1000, share: share(us) })),
    functions: [...functions.values()].sort((a, b) => b.us - a.us).slice(0, top).map((f) => ({ name: f.name, place: f.place, ms: f.us / 1000, share: share(f.us) })),
  };
}

export function profileTables(s: ProfileSummary): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  return [
    `Main thread busy ${(s.busyMs / 1000).toFixed(1)} s, idle ${(s.idleMs / 1000).toFixed(1)} s (argon2 runs on worker threads, outside this profile). Self time:`,
    '',
    '| where | share of busy time |',
    '|---|---|',
    ...s.places.map((p) => `| ${p.place} | ${pct(p.share)} |`),
    '',
    '| function | where | share of busy time |',
    '|---|---|---|',
    ...s.functions.map((f) => `| \`${f.name}\` | ${f.place} | ${pct(f.share)} |`),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node dist/bench/profile.js <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  process.stdout.write(`${profileTables(summariseProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(top ?? 15)))}\n`);
}
