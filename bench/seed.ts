// The bench's data, written straight to the gateway's tables (one argon2id hash per user, sessions
// with their first refresh token in batches): kept apart from run.ts so that a test can seed a
// few rows the same way and prove the gateway still accepts them as its own.
import { randomBytes, randomUUID } from 'node:crypto';
import { Algorithm, hash, type Options } from '@node-rs/argon2';
import type pg from 'pg';
import { keyedHash } from '../src/services/shared/secrets.js';

/** The production floor (OWASP): what the bench's logins verify against. */
export const PRODUCTION_ARGON: Options = { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 };

export interface BenchSeed {
  tenantId: string;
  /** user<i>@bench.test with password password-<i>, each holding the role admin (api_keys:create). */
  userIds: string[];
  /** One live session each, of the users in turn. */
  refreshTokens: string[];
}

/** Seed tenant `bench` into a migrated, empty database. */
export async function seedBench(sql: pg.Pool, opts: { users: number; sessions: number; secretKey: string; argon: Options }): Promise<BenchSeed> {
  const tenantId = randomUUID();
  const roleId = randomUUID();
  const permId = randomUUID();
  await sql.query(`insert into tenants (id, slug, name, google_domains, default_roles, created_at) values ($1, 'bench', 'Bench', '{}', '{}', now())`, [tenantId]);
  await sql.query(`insert into roles (id, tenant_id, name, created_at) values ($1, $2, 'admin', now())`, [roleId, tenantId]);
  await sql.query(`insert into permissions (id, name) values ($1, 'api_keys:create')`, [permId]);
  await sql.query(`insert into role_permissions (role_id, permission_id) values ($1, $2)`, [roleId, permId]);
  const userIds: string[] = [];
  for (let start = 0; start < opts.users; start += 500) {
    const batch = Array.from({ length: Math.min(500, opts.users - start) }, (_, i) => start + i);
    const hashes = await Promise.all(batch.map((i) => hash(`password-${i}`, opts.argon)));
    const ids = batch.map(() => randomUUID());
    userIds.push(...ids);
    await sql.query(
      `insert into users (id, tenant_id, email, password_hash, disabled, created_at, updated_at)
       select unnest($1::uuid[]), $2, unnest($3::text[]), unnest($4::text[]), false, now(), now()`,
      [ids, tenantId, batch.map((i) => `user${i}@bench.test`), hashes],
    );
    await sql.query(`insert into user_roles (user_id, role_id) select unnest($1::uuid[]), $2`, [ids, roleId]);
  }

  const refreshTokens: string[] = [];
  for (let start = 0; start < opts.sessions; start += 5000) {
    const n = Math.min(5000, opts.sessions - start);
    const sessions = Array.from({ length: n }, () => randomUUID());
    const tokens = Array.from({ length: n }, () => randomBytes(32).toString('base64url'));
    refreshTokens.push(...tokens);
    const users = sessions.map((_, i) => userIds[(start + i) % opts.users]);
    await sql.query(
      `insert into sessions (id, tenant_id, user_id, auth_method, auth_time, amr, created_at, last_used_at, expires_at)
       select unnest($1::uuid[]), $2, unnest($3::uuid[]), 'password', now(), '{pwd}', now(), now(), now() + interval '30 days'`,
      [sessions, tenantId, users],
    );
    await sql.query(
      `insert into refresh_tokens (id, session_id, token_hash, created_at, expires_at)
       select gen_random_uuid(), unnest($1::uuid[]), unnest($2::text[]), now(), now() + interval '30 days'`,
      [sessions, tokens.map((t) => keyedHash(opts.secretKey, t))],
    );
  }
  return { tenantId, userIds, refreshTokens };
}

export interface ScaleSeed {
  users: number;
  sessions: number;
  expired: number;
  /** Inserting the rows; then vacuuming, analysing and the checkpoint. */
  seconds: number;
  settleSeconds: number;
}

/**
 * Scale: `users` more users sharing one hash (each with an API key) and `sessions` sessions with
 * their refresh tokens (half of them expired a day ago, the other half live and used an hour
 * ago), made by PostgreSQL itself with generate_series in batches of 100,000 (no rows cross
 * the wire).
 */
export async function seedScale(sql: pg.Pool, seed: BenchSeed, opts: { users: number; sessions: number; secretKey: string; argon: Options }): Promise<ScaleSeed> {
  const started = performance.now();
  const shared = await hash('password-bulk', opts.argon);
  await sql.query(
    `insert into users (id, tenant_id, email, password_hash, disabled, created_at, updated_at)
     select gen_random_uuid(), $1, 'bulk' || i || '@bench.test', $2, false, now(), now() from generate_series(1, $3) as i`,
    [seed.tenantId, shared, opts.users],
  );
  const step = 100_000;
  for (let start = 0; start < opts.sessions; start += step) {
    const n = Math.min(step, opts.sessions - start);
    await sql.query(
      `with ids as (select array_agg(id) as a from users where tenant_id = $1),
       s as (
         insert into sessions (id, tenant_id, user_id, auth_method, auth_time, amr, created_at, last_used_at, expires_at)
         select gen_random_uuid(), $1, ids.a[1 + (i % array_length(ids.a, 1))], 'password',
                now() - interval '31 days', '{pwd}', now() - interval '31 days',
                -- The live half was used an hour ago (within the idle timeout); the other half expired a day ago.
                case when i % 2 = 0 then now() - interval '31 days' else now() - interval '1 hour' end,
                case when i % 2 = 0 then now() - interval '1 day' else now() + interval '30 days' end
           from generate_series($2::int, $3::int) as i, ids
         returning id, created_at, expires_at)
       insert into refresh_tokens (id, session_id, token_hash, created_at, expires_at)
       select gen_random_uuid(), s.id, md5(s.id::text) || md5(random()::text), s.created_at, s.expires_at from s`,
      [seed.tenantId, start, start + n - 1],
    );
  }
  // An API key per added user, so that the key lookup's plan is that of a big table.
  await sql.query(
    `insert into api_keys (id, tenant_id, user_id, name, prefix, key_hash, scopes, created_at)
     select gen_random_uuid(), $1, u.id, 'bulk', 'agk_bulk', md5(u.id::text) || md5(random()::text), '{}', now() from users u where u.email like 'bulk%'`,
    [seed.tenantId],
  );
  const seconds = (performance.now() - started) / 1000;
  // Measured in a steady state: the bulk rows vacuumed and analysed, their pages written out
  // (otherwise autovacuum and the checkpoint after a million inserts land in the measurement).
  await sql.query('vacuum (analyze) users, sessions, refresh_tokens, api_keys');
  await sql.query('checkpoint');
  return { users: opts.users, sessions: opts.sessions, expired: Math.ceil(opts.sessions / 2), seconds, settleSeconds: (performance.now() - started) / 1000 - seconds };
}
