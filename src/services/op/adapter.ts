// oidc-provider's storage (SPEC §12): every object of a tenant's provider (sessions, interactions,
// codes, grants, tokens, device codes) is a row of oidc_models keyed by (tenant, model, id), so
// any instance serves what another issued and the purge drops what expired. What was issued under
// a provider session whose gateway session ended reads as gone (SPEC §12: the OP's session is a
// gateway session). Clients are not stored here: they are the tenant's oauth_clients, read
// through `findClient` as the provider asks.
//
// The id of a bearer object (a token, a code, a session cookie, a device code) is its value: it
// is looked up by its keyed hash (SPEC §4, as refresh tokens are) and kept sealed in its payload
// (AES-GCM under SECRET_KEY) for when the provider finds it another way (a device code by its
// user code, a session by its uid); a user code is kept as a keyed hash. None is stored in plain.
//
// Consuming is atomic: of two uses of one code or refresh token at once, one wins and the grant
// is revoked for the other (a reuse).
//
// A device that polls a pending device code sooner than the grant's interval (RFC 8628's default,
// 5 s: oidc-provider names none and enforces none) is told slow_down; concurrent polls too.
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { oidcProvider } from './library.js';
import type { Config } from '../../config.js';
import type { EntityManager } from '../../db/orm.js';
import { executePrepared } from '../../db/prepared.js';
import { derivedKey, keyedHash, seal, unseal } from '../shared/secrets.js';

type Row = { payload: AdapterPayload & { sealedJti?: string }; consumed_at: Date | null };

/** What an id a client sent can be looked up as: bounded text without NUL. */
export const storable = (value: unknown): value is string => typeof value === 'string' && value.length <= 1024 && !value.includes('\u0000');

/** Seconds a device waits between polls (RFC 8628's default; the device authorization response names no other). */
export const DEVICE_POLL_INTERVAL = 5;

/** How long a grant may live (the provider's ttl.Grant), and so its tombstone once revoked. */
export const GRANT_TTL_SECONDS = 14 * 86_400;
/** The model name of a revoked grant's tombstone. */
const REVOKED_GRANT = 'RevokedGrant';

const UPSERT_COLUMNS = 'insert into oidc_models (tenant_id, model, id, payload, grant_id, user_code, uid, expires_at)';
const UPSERT_UPDATE = 'on conflict (tenant_id, model, id) do update set payload = excluded.payload, grant_id = excluded.grant_id, user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at';
const UPSERT = `${UPSERT_COLUMNS} values (?, ?, ?, ?::jsonb, ?, ?, ?, ?) ${UPSERT_UPDATE}`;
// A grant is written unless its tombstone is there.
const UPSERT_GRANT = `${UPSERT_COLUMNS} select ?, ?, ?, ?::jsonb, ?, ?, ?, ? where not exists (select 1 from oidc_models where tenant_id = ? and model = '${REVOKED_GRANT}' and id = ?) ${UPSERT_UPDATE}`;

/** The models whose id is a bearer value. */
const BEARER = new Set(['AccessToken', 'RefreshToken', 'AuthorizationCode', 'ClientCredentials', 'DeviceCode', 'Session', 'BackchannelAuthenticationRequest']);

export interface AdapterDeps {
  config: Pick<Config, 'secretKey'>;
  fork: () => EntityManager;
  /** The tenant's client `id` as the provider's metadata, or undefined. */
  findClient(id: string): Promise<AdapterPayload | undefined>;
}

export class PgAdapter implements Adapter {
  private readonly bearer: boolean;

  constructor(
    private readonly deps: AdapterDeps,
    private readonly tenantId: string,
    private readonly model: string,
  ) {
    this.bearer = BEARER.has(model);
  }

  /** The stored form of an id (or a user code) a client sent. */
  private key(value: string): string {
    return this.bearer ? keyedHash(this.deps.config.secretKey, value) : value;
  }

  private get sealKey() {
    return derivedKey(this.deps.config.secretKey, 'oidc-model-id v1');
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    const expiresAt = expiresIn ? new Date(Date.now() + expiresIn * 1000) : null;
    const { jti: _jti, userCode: _userCode, ...rest } = payload;
    const stored = this.bearer ? { ...rest, sealedJti: seal(this.sealKey, id) } : this.sealSessionCookie(payload);
    const row = [this.tenantId, this.model, this.key(id), JSON.stringify(stored), payload.grantId ?? null, payload.userCode ? this.key(payload.userCode) : null, payload.uid ?? null, expiresAt];
    // A revoked grant is never written back (a request that found it before the revoke saves it after).
    const grant = this.model === 'Grant';
    await executePrepared(this.deps.fork(), grant ? UPSERT_GRANT : UPSERT, grant ? [...row, this.tenantId, id] : row);
  }

  /** Every object of a grant goes, the grant too, and a tombstone stays as long as a grant could live. */
  private async revokeGrant(grantId: string): Promise<void> {
    await executePrepared(
      this.deps.fork(),
      `with gone as (delete from oidc_models where tenant_id = ? and (grant_id = ? or (model = 'Grant' and id = ?)))
       insert into oidc_models (tenant_id, model, id, payload, expires_at) values (?, '${REVOKED_GRANT}', ?, '{}'::jsonb, now() + make_interval(secs => ?))
       on conflict (tenant_id, model, id) do nothing`,
      [this.tenantId, grantId, grantId, this.tenantId, grantId, GRANT_TTL_SECONDS],
    );
  }

  // An object of a provider session whose gateway session ended is gone: its session, and the
  // codes and tokens issued under it (sessionUid), whichever way the gateway session ended.
  private async one(where: 'id' | 'user_code' | 'uid', value: string): Promise<AdapterPayload | undefined> {
    // A value PostgreSQL's text cannot hold (a NUL) names nothing: not a database failure.
    if (!storable(value)) return undefined;
    const [row] = await executePrepared<Row>(
      this.deps.fork(),
      `select m.payload, m.consumed_at from oidc_models m where m.tenant_id = ? and m.model = ? and m.${where} = ? and (m.expires_at is null or m.expires_at > now())
         and not exists (select 1 from oidc_session_links l join sessions s on s.id = l.gateway_session_id
           where l.tenant_id = m.tenant_id and l.op_session_uid = coalesce(m.payload->>'sessionUid', case when m.model = 'Session' then m.payload->>'uid' end) and s.revoked_at is not null)
       limit 1`,
      [this.tenantId, this.model, where === 'uid' ? value : this.key(value)],
    );
    if (!row) return undefined;
    const { sealedJti, ...payload } = row.payload;
    // The values kept only as hashes come back from what the provider asked with.
    const restored: AdapterPayload = !this.bearer
      ? this.openSessionCookie(payload)
      : { ...payload, jti: where === 'id' ? value : unseal(this.sealKey, sealedJti!), ...(where === 'user_code' ? { userCode: value } : {}) };
    return row.consumed_at ? { ...restored, consumed: Math.floor(new Date(row.consumed_at).getTime() / 1000) } : restored;
  }

  // An interaction names its browser session by the session cookie's value: sealed as the session's own id is.
  private sealSessionCookie(payload: AdapterPayload): AdapterPayload {
    const session = payload.session as { cookie?: string } | undefined;
    if (!session?.cookie) return payload;
    const { cookie, ...rest } = session;
    return { ...payload, session: { ...rest, sealedCookie: seal(this.sealKey, cookie) } as never };
  }

  private openSessionCookie(payload: AdapterPayload): AdapterPayload {
    const session = payload.session as { sealedCookie?: string } | undefined;
    if (!session?.sealedCookie) return payload;
    const { sealedCookie, ...rest } = session;
    return { ...payload, session: { ...rest, cookie: unseal(this.sealKey, sealedCookie) } as never };
  }

  async find(id: string) {
    if (this.model === 'Client') return this.deps.findClient(id);
    const found = await this.one('id', id);
    // A poll by the client the code was issued to (another client's poll must not slow the device down).
    const ctx = oidcProvider().default.ctx;
    if (found && this.model === 'DeviceCode' && ctx?.oidc.route === 'token' && ctx.oidc.client?.clientId === found.clientId) await this.polled(id, found);
    return found;
  }

  /** A device's poll of a pending device code: slow_down unless the interval has passed since the last one. */
  private async polled(id: string, code: AdapterPayload): Promise<void> {
    if (code.accountId || code.error || code.consumed) return;
    const rows = await executePrepared(
      this.deps.fork(),
      `update oidc_models set polled_at = now() where tenant_id = ? and model = ? and id = ? and (polled_at is null or polled_at <= now() - make_interval(secs => ?)) returning 1 as polled`,
      [this.tenantId, this.model, this.key(id), DEVICE_POLL_INTERVAL],
    );
    if (!rows.length) throw new (oidcProvider().errors.SlowDown)();
  }

  findByUserCode(userCode: string) {
    return this.one('user_code', userCode);
  }

  findByUid(uid: string) {
    return this.one('uid', uid);
  }

  // A code, device code or refresh token is consumed once (RFC 6749 §4.1.2, §10.4): the mark is
  // conditional, so of uses at once (each found it unconsumed) one wins; the others are a reuse,
  // answered as the provider answers a later one: invalid_grant, and the grant revoked.
  async consume(id: string): Promise<void> {
    if (!storable(id)) return;
    const key = [this.tenantId, this.model, this.key(id)];
    const [row] = await executePrepared<{ won: boolean; grant_id: string | null }>(
      this.deps.fork(),
      `with won as (update oidc_models set consumed_at = now() where tenant_id = ? and model = ? and id = ? and consumed_at is null returning 1)
       select exists(select 1 from won) as won, (select grant_id from oidc_models where tenant_id = ? and model = ? and id = ?) as grant_id`,
      [...key, ...key],
    );
    if (row.won) return;
    // The grant itself too (its row carries its id, not a grant_id), as the provider's revoke does:
    // the winner's tokens, saved before or after this, then name a grant that is gone.
    if (row.grant_id) await this.revokeGrant(row.grant_id);
    throw new (oidcProvider().errors.InvalidGrant)(`${this.model === 'RefreshToken' ? 'refresh token' : 'grant source'} already used`);
  }

  async destroy(id: string): Promise<void> {
    if (!storable(id)) return;
    // A grant destroyed (a reuse, a revocation, a logout) stays gone.
    if (this.model === 'Grant') return this.revokeGrant(id);
    await executePrepared(this.deps.fork(), 'delete from oidc_models where tenant_id = ? and model = ? and id = ?', [this.tenantId, this.model, this.key(id)]);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    if (!storable(grantId)) return;
    await executePrepared(this.deps.fork(), 'delete from oidc_models where tenant_id = ? and grant_id = ?', [this.tenantId, grantId]);
  }
}
