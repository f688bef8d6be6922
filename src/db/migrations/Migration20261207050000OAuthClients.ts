import { Migration } from '@mikro-orm/migrations';

/**
 * SPEC §12, every tenant an OpenID Provider: the tenant's OAuth clients (the secret sealed), and
 * the provider's own state (codes, grants, sessions, refresh tokens, interactions...) as rows of
 * one table keyed by tenant, model and id, shared by every instance and purged when expired.
 */
export class Migration20261207050000OAuthClients extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table if not exists "oauth_clients" ("id" uuid not null, "tenant_id" uuid not null, "client_id" text not null, "name" text not null, "client_secret" text null, "redirect_uris" text[] not null default '{}', "post_logout_redirect_uris" text[] not null default '{}', "grant_types" text[] not null default '{}', "scopes" text[] not null default '{}', "resources" text[] not null default '{}', "public" boolean not null default false, "first_party" boolean not null default false, "jwks_uri" text null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "oauth_clients_pkey" primary key ("id"));`);
    this.addSql(`alter table "oauth_clients" add constraint "oauth_clients_tenant_client_unique" unique ("tenant_id", "client_id");`);
    this.addSql(`alter table "oauth_clients" add constraint "oauth_clients_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);

    this.addSql(`create table if not exists "oidc_models" ("tenant_id" uuid not null, "model" text not null, "id" text not null, "payload" jsonb not null, "grant_id" text null, "user_code" text null, "uid" text null, "expires_at" timestamptz null, "consumed_at" timestamptz null, constraint "oidc_models_pkey" primary key ("tenant_id", "model", "id"));`);
    this.addSql(`create index "oidc_models_grant_idx" on "oidc_models" ("tenant_id", "grant_id");`);
    this.addSql(`create index "oidc_models_user_code_idx" on "oidc_models" ("tenant_id", "user_code");`);
    this.addSql(`create index "oidc_models_uid_idx" on "oidc_models" ("tenant_id", "uid");`);
    this.addSql(`create index "oidc_models_expires_idx" on "oidc_models" ("expires_at");`);
    this.addSql(`alter table "oidc_models" add constraint "oidc_models_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "oidc_models";`);
    this.addSql(`drop table if exists "oauth_clients";`);
  }
}
