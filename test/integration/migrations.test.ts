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

  it('apply nothing the second time', async () => {
    expect(await migrate(gw.orm)).toEqual([]);
  });
});
