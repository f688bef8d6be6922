// oidc-provider's storage (SPEC §12): every object of a tenant's provider (sessions, interactions,
// codes, grants, tokens, device codes) is a row of oidc_models keyed by (tenant, model, id), so
// any instance serves what another issued and the purge drops what expired. Clients are not
// stored here: they are the tenant's oauth_clients (clients.ts), read as the provider asks.
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { EntityManager } from '../../db/orm.js';

type Row = { payload: AdapterPayload; consumed_at: Date | null };

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

  private async one(where: string, value: string): Promise<AdapterPayload | undefined> {
    const [row] = (await this.fork().execute(
      `select payload, consumed_at from oidc_models where tenant_id = ? and model = ? and ${where} = ? and (expires_at is null or expires_at > now()) limit 1`,
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
    await this.fork().execute('update oidc_models set consumed_at = now() where tenant_id = ? and model = ? and id = ?', [this.tenantId, this.model, id]);
  }

  async destroy(id: string): Promise<void> {
    await this.fork().execute('delete from oidc_models where tenant_id = ? and model = ? and id = ?', [this.tenantId, this.model, id]);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.fork().execute('delete from oidc_models where tenant_id = ? and grant_id = ?', [this.tenantId, grantId]);
  }
}
