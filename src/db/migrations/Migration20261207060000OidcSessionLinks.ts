import { Migration } from '@mikro-orm/migrations';

/**
 * SPEC §12: the OpenID Provider's browser session is a gateway session. Each provider session is
 * linked to the gateway session its sign-in made; what the provider issued under it stops
 * working when that gateway session ends (logoutAll, revokeSession, disableUser, a reset...).
 */
export class Migration20261207060000OidcSessionLinks extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table if not exists "oidc_session_links" ("tenant_id" uuid not null, "op_session_uid" text not null, "gateway_session_id" uuid not null, constraint "oidc_session_links_pkey" primary key ("tenant_id", "op_session_uid", "gateway_session_id"));`);
    this.addSql(`create index "oidc_session_links_gateway_idx" on "oidc_session_links" ("gateway_session_id");`);
    this.addSql(`alter table "oidc_session_links" add constraint "oidc_session_links_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "oidc_session_links" add constraint "oidc_session_links_gateway_session_id_foreign" foreign key ("gateway_session_id") references "sessions" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "oidc_session_links";`);
  }
}
