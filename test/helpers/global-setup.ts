// One PostgreSQL for the whole run: TEST_DATABASE_URL (a superuser URL; each test file
// creates and drops its own database on it), or else an embedded cluster under .data/.
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const fromEnv = process.env.TEST_DATABASE_URL;
  const quiet = { info: () => {}, debug: () => {} };
  const embedded = fromEnv ? undefined : await startEmbeddedPostgres('.data', quiet, 'test-pg');
  project.provide('pgAdminUrl', fromEnv ?? embedded!.adminUrl);
  return async () => {
    await embedded?.stop();
  };
}
