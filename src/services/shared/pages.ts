// The admin lists' cursor connections: pages of 1 to 100 rows (default 20) over (created_at, id),
// newest first, with opaque cursors, so rows added while paging never shift a page.
import { AuthError } from '../../errors/auth-error.js';
import { isUuid } from './identifiers.js';

export interface Page<T> {
  edges: Array<{ cursor: string; node: T }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

export const MAX_PAGE = 100;

/** Opaque cursors: the (created_at, id) of the row, base64url-encoded. */
const encodeCursor = (createdAt: Date, id: string) => Buffer.from(JSON.stringify([createdAt.toISOString(), id])).toString('base64url');
function decodeCursor(cursor: string): [Date, string] {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const date = new Date(at);
    if (Number.isNaN(date.getTime()) || !isUuid(id)) throw new Error('bad cursor');
    return [date, id];
  } catch {
    throw new AuthError('auth_request_invalid', { fields: [{ field: 'after', rule: 'format' }] });
  }
}

/**
 * The page size asked for (checked), with the condition for rows after the cursor added to
 * `where`/`params` for the table aliased `alias`. Select `limit size + 1` rows, then `toPage`.
 */
export function pageWindow(args: { first?: number | null; after?: string | null }, alias: string, where: string[], params: unknown[]): number {
  const first = args.first ?? 20;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) throw new AuthError('auth_request_invalid', { fields: [{ field: 'first', rule: first < 1 ? 'too_short' : first > MAX_PAGE ? 'too_long' : 'type' }] });
  if (args.after) {
    const [at, id] = decodeCursor(args.after);
    where.push(`(${alias}.created_at, ${alias}.id) < (?, ?)`);
    params.push(at, id);
  }
  return first;
}

/** The page of `first` rows out of up to first + 1 selected, each made a node by `node`. */
export function toPage<R extends { id: string; created_at: Date }, T>(rows: R[], first: number, node: (row: R) => T): Page<T> {
  const edges = rows.slice(0, first).map((r) => ({ cursor: encodeCursor(new Date(r.created_at), r.id), node: node(r) }));
  return { edges, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null } };
}
