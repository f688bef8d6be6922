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
