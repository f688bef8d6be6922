// The migrations build exactly the schema the entities describe, and applying them twice is a no-op.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/orm.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw?.close());

describe('migrations', () => {
  it('leave nothing for the entities to add or change', async () => {
    const diff = await gw.orm.schema.getUpdateSchemaSQL({ wrap: false, safe: false, dropTables: true });
    expect(diff.trim()).toBe('');
  });

  it('keep only the brute-force counters out of the WAL', async () => {
    const rows = await gw.sql<{ relname: string; relpersistence: string }>(
      "select c.relname, c.relpersistence from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = current_schema() and c.relkind = 'r'",
    );
    expect(rows.filter((r) => r.relpersistence === 'u').map((r) => r.relname)).toEqual(['rate_limits']);
    expect(rows.filter((r) => r.relpersistence !== 'u').length).toBeGreaterThan(10);
  });

  it('apply nothing the second time', async () => {
    expect(await migrate(gw.orm)).toEqual([]);
  });
});
