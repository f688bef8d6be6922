// One PostgreSQL for the whole run: TEST_DATABASE_URL (a superuser URL; each test file
// creates and drops its own database on it), or else an embedded cluster under .data/.
// The migrations run once, into a template database of this run: a test file's database is a
// copy of it (CREATE DATABASE ... TEMPLATE), which costs a file-system copy instead of sixteen
// migrations per gateway. The gateway still runs its migrator, which then finds nothing to do.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { loadConfig } from '../../src/config.js';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';
import { migrate, openDb } from '../../src/db/orm.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    /** A database of this run with every migration applied, to copy. */
    pgTemplate: string;
  }
}

async function admin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export default async function setup(project: TestProject) {
  const fromEnv = process.env.TEST_DATABASE_URL;
  const quiet = { info: () => {}, debug: () => {} };
  const embedded = fromEnv ? undefined : await startEmbeddedPostgres('.data', quiet, 'test-pg');
  const adminUrl = fromEnv ?? embedded!.adminUrl;

  const template = `gw_template_${randomBytes(4).toString('hex')}`;
  await admin(adminUrl, (c) => c.query(`create database ${template}`));
  const url = new URL(adminUrl);
  url.pathname = `/${template}`;
  const { db } = loadConfig({ NODE_ENV: 'test', DATABASE_URL: url.toString(), SECRET_KEY: randomBytes(32).toString('base64url') });
  const orm = await openDb(url.toString(), db);
  await migrate(orm);
  await orm.close(true);

  project.provide('pgAdminUrl', adminUrl);
  project.provide('pgTemplate', template);
  return async () => {
    await admin(adminUrl, (c) => c.query(`drop database if exists ${template} with (force)`)).catch(() => {});
    await embedded?.stop();
  };
}
