// The bench writes its users and sessions straight to the tables; this proves the gateway still
// accepts what it writes (a schema change once broke `npm run bench` with nothing else failing).
import { Algorithm } from '@node-rs/argon2';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { seedBench } from '../../bench/seed.js';
import { bearer, startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
let sql: pg.Pool;

beforeAll(async () => {
  gw = await startTestGateway();
  sql = new pg.Pool({ connectionString: gw.databaseUrl, max: 2 });
});
afterAll(async () => {
  await sql?.end();
  await gw?.close();
});

it('seeds users who sign in and sessions whose refresh tokens rotate, as the bench drives them', async () => {
  const seed = await seedBench(sql, { users: 3, sessions: 4, secretKey: gw.config.secretKey, argon: { algorithm: Algorithm.Argon2id, memoryCost: 1024, timeCost: 1, parallelism: 1 } });
  expect(seed.userIds).toHaveLength(3);
  expect(seed.refreshTokens).toHaveLength(4);
  const login = await gw.rest('POST', '/auth/login', { tenant: 'bench', email: 'user2@bench.test', password: 'password-2' });
  expect(login.status, JSON.stringify(login.body)).toBe(200);
  // The bench's API-key scenario: the role's permission lets a fresh session create a key.
  expect((await gw.rest('POST', '/auth/api-key', { name: 'bench' }, bearer(login.body.access_token))).status).toBe(201);
  for (const token of seed.refreshTokens) {
    const refreshed = await gw.rest('POST', '/auth/refresh', { refresh_token: token });
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
  }
});
