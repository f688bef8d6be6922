// A real nginx (Debian's) on a configuration of deploy/, for the tests of what stands in front of
// the gateway: the caller repoints the upstreams; here the pid, logs and temp paths go to a
// directory of its own, the listen address is `127.0.0.1:<port>`, and it is up when it answers.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './gateway.js';

export const NGINX = '/usr/sbin/nginx';
export const hasNginx = () => existsSync(NGINX);

/** Starts nginx on `conf` (its `listen 80;` becomes `port` on loopback, a free one by default); answers its base URL and a stop. */
export async function startNginx(conf: string, port?: number): Promise<{ url: string; stop(): void }> {
  port ??= await freePort();
  const text = conf
    .replace('listen 80;', `listen 127.0.0.1:${port};`)
    .replace(/^events \{\}/m, 'pid nginx.pid;\nerror_log stderr;\nevents {}')
    .replace(/http \{/, 'http {\n  access_log off;\n  client_body_temp_path tmp; proxy_temp_path tmp;');
  const dir = mkdtempSync(path.join(tmpdir(), 'gateway-nginx-'));
  mkdirSync(path.join(dir, 'tmp'));
  writeFileSync(path.join(dir, 'nginx.conf'), text);
  const proc = spawn(NGINX, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  proc.stderr!.on('data', (d) => (errors += d));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if ((await fetch(url).catch(() => undefined)) !== undefined) return { url, stop: () => proc.kill('SIGQUIT') };
    if (proc.exitCode !== null) throw new Error(`nginx exited: ${errors}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  proc.kill('SIGKILL');
  throw new Error(`nginx did not answer: ${errors}`);
}
