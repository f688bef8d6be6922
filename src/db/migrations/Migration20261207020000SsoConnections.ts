import { Migration } from '@mikro-orm/migrations';

/**
 * SPEC §11: a tenant's own identity providers. A connection (OpenID Connect or SAML 2.0) is
 * tenant data; its client secret is sealed (AES-256-GCM under a key derived from SECRET_KEY).
 * A domain belongs to at most one connection in the whole gateway, and links users or enforces
 * SSO only once verified. `tenants.redirect_urls` are where a finished flow may go back to.
 */
export class Migration20261207020000SsoConnections extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "tenants" add column if not exists "redirect_urls" text[] not null default '{}';`);
    this.addSql(`create table if not exists "sso_connections" (
      "id" uuid primary key,
      "tenant_id" uuid not null,
      "name" text not null,
      "type" text not null,
      "enforce" boolean not null default false,
      "jit" boolean not null default false,
      "default_roles" text[] not null default '{}',
      "role_claim" text null,
      "role_map" jsonb not null default '{}',
      "settings" jsonb not null default '{}',
      "client_secret" text null,
      "created_at" timestamptz not null,
      "updated_at" timestamptz not null,
      constraint "sso_connections_tenant_name_unique" unique ("tenant_id", "name"),
      constraint "sso_connections_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade
    );`);
    this.addSql(`create table if not exists "sso_domains" (
      "domain" text primary key,
      "connection_id" uuid not null,
      "verified_at" timestamptz null,
      constraint "sso_domains_connection_id_foreign" foreign key ("connection_id") references "sso_connections" ("id") on update cascade on delete cascade
    );`);
    this.addSql(`create index if not exists "sso_domains_connection_idx" on "sso_domains" ("connection_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "sso_domains";`);
    this.addSql(`drop table if exists "sso_connections";`);
    this.addSql(`alter table "tenants" drop column if exists "redirect_urls";`);
  }
}
