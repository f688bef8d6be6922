// oidc-provider's storage (SPEC §12): every object of a tenant's provider (sessions, interactions,
// codes, grants, tokens, device codes) is a row of oidc_models keyed by (tenant, model, id), so
// any instance serves what another issued and the purge drops what expired. What was issued under
// a provider session whose gateway session ended reads as gone (SPEC §12: the OP's session is a
// gateway session). Clients are not
// stored here: they are the tenant's oauth_clients (clients.ts), read as the provider asks.
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { EntityManager } from '../../db/orm.js';

type Row = { payload: AdapterPayload; consumed_at: Date | null };

/** What an id a client sent can be looked up as: bounded text without NUL. */
export const storable = (value: unknown): value is string => typeof value === 'string' && value.length <= 1024 && !value.includes('\u0000');

export class PgAdapter implements Adapter {
  constructor(
    private readonly fork: () => EntityManager,
    private readonly tenantId: string,
    private readonly model: string,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    const expiresAt = expiresIn ? new Date(Date.now() + expiresIn * 1000) : null;
    await this.fork().execute(
      `insert into oidc_models (tenant_id, model, id, payload, grant_id, user_code, uid, expires_at) values (?, ?, ?, ?::jsonb, ?, ?, ?, ?)
       on conflict (tenant_id, model, id) do update set payload = excluded.payload, grant_id = excluded.grant_id, user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at`,
      [this.tenantId, this.model, id, JSON.stringify(payload), payload.grantId ?? null, payload.userCode ?? null, payload.uid ?? null, expiresAt],
    );
  }

  // An object of a provider session whose gateway session ended is gone: its session, and the
  // codes and tokens issued under it (sessionUid), whichever way the gateway session ended.
  private async one(where: string, value: string): Promise<AdapterPayload | undefined> {
    // A value PostgreSQL's text cannot hold (a NUL) names nothing: not a database failure.
    if (!storable(value)) return undefined;
    const [row] = (await this.fork().execute(
      `select m.payload, m.consumed_at from oidc_models m where m.tenant_id = ? and m.model = ? and m.${where} = ? and (m.expires_at is null or m.expires_at > now())
         and not exists (select 1 from oidc_session_links l join sessions s on s.id = l.gateway_session_id
           where l.tenant_id = m.tenant_id and l.op_session_uid = coalesce(m.payload->>'sessionUid', case when m.model = 'Session' then m.payload->>'uid' end) and s.revoked_at is not null)
       limit 1`,
      [this.tenantId, this.model, value],
    )) as Row[];
    if (!row) return undefined;
    return row.consumed_at ? { ...row.payload, consumed: Math.floor(new Date(row.consumed_at).getTime() / 1000) } : row.payload;
  }

  find(id: string) {
    return this.one('id', id);
  }

  findByUserCode(userCode: string) {
    return this.one('user_code', userCode);
  }

  findByUid(uid: string) {
    return this.one('uid', uid);
  }

  async consume(id: string): Promise<void> {
    if (!storable(id)) return;
    await this.fork().execute('update oidc_models set consumed_at = now() where tenant_id = ? and model = ? and id = ?', [this.tenantId, this.model, id]);
  }

  async destroy(id: string): Promise<void> {
    if (!storable(id)) return;
    await this.fork().execute('delete from oidc_models where tenant_id = ? and model = ? and id = ?', [this.tenantId, this.model, id]);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    if (!storable(grantId)) return;
    await this.fork().execute('delete from oidc_models where tenant_id = ? and grant_id = ?', [this.tenantId, grantId]);
  }
}
