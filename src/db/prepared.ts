// The hot statements (sign-in, session start, refresh, the limits' settle) as named prepared
// statements (issue #32). em.execute inlines every value into the SQL text, so PostgreSQL parses
// and plans each multi-CTE statement anew on every call: 1.3 ms of its CPU per sign-in in
// planning alone, measured with pg_stat_statements. Here the values travel as bind parameters
// under a name derived from the text, so each pooled connection parses a statement once and
// PostgreSQL reuses its plan (docs/performance.md). A parameter whose type the statement does not
// fix must carry a cast (`?::uuid`): PostgreSQL types it once, when the statement is prepared.
// A pooler in front of PostgreSQL must keep prepared statements per server connection
// (PgBouncer's transaction mode from 1.21 on, with max_prepared_statements; docs/operations.md).
import { createHash } from 'node:crypto';
import type { EntityManager } from './orm.js';

const names = new Map<string, string>();

/** The statement's name: a digest of its text, so two texts never share a name. */
function nameOf(sql: string): string {
  let name = names.get(sql);
  if (!name) {
    name = `gw_${createHash('sha256').update(sql).digest('base64url').slice(0, 32)}`;
    names.set(sql, name);
  }
  return name;
}

/**
 * em.execute's rows for a statement run as a named prepared statement, in the entity manager's
 * transaction when it has one; failures converted as em.execute converts them.
 */
export async function executePrepared<T = Record<string, unknown>>(em: EntityManager, sql: string, params: readonly unknown[]): Promise<T[]> {
  const query = em.getKnex().raw(sql, params as never[]).options({ name: nameOf(sql) });
  const tx = em.getTransactionContext();
  if (tx) query.transacting(tx);
  try {
    return ((await query) as { rows: T[] }).rows;
  } catch (e) {
    throw em.getDriver().convertException(e as Error);
  }
}
