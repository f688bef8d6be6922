// The real gateway as a separate process (node dist/src/main.js), for what only a process
// shows: SIGTERM handling, and several instances that share nothing but the database.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { TestGateway } from './gateway.js';

export interface GatewayProcess {
  url: string;
  proc: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

/** Compiles the project once if dist/ is missing (npm test's pretest builds it). */
export function ensureBuilt(): void {
  if (existsSync('dist/src/main.js')) return;
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('tsc failed');
}

/** The environment of another instance of `gw`: its database, SECRET_KEY, signing key, issuer, audience and PUBLIC_URL. */
export const sharingEnv = (gw: Pick<TestGateway, 'databaseUrl' | 'config' | 'signingKey'>): Record<string, string> => ({
  DATABASE_URL: gw.databaseUrl,
  SECRET_KEY: gw.config.secretKey,
  JWT_PRIVATE_KEYS: JSON.stringify({ keys: [gw.signingKey] }),
  JWT_ISSUER: gw.config.jwt.issuer,
  JWT_AUDIENCE: gw.config.jwt.audience,
  PUBLIC_URL: gw.config.publicUrl,
});

export async function spawnGateway(env: Record<string, string>): Promise<GatewayProcess> {
  ensureBuilt();
  const proc = spawn(process.execPath, ['dist/src/main.js'], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', WEBAUTHN_ORIGINS: 'http://localhost:4000', LOG_LEVEL: 'info', MIGRATE_ON_START: 'false', PASSWORD_HASH_MEMORY_KIB: '1024', PASSWORD_HASH_ITERATIONS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${out}`)), 30_000);
    const look = () => {
      const m = /"graphql":"(http:\/\/[^"]+)\/graphql"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    proc.stdout!.on('data', look);
    exited.then(() => reject(new Error(`gateway exited:\n${out}`)));
  });
  return { url, proc, output: () => out, exited, kill: (signal = 'SIGTERM') => proc.kill(signal) };
}
