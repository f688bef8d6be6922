import { Migration } from '@mikro-orm/migrations';

/**
 * SPEC §11, SAML sign-in: a flow remembers the AuthnRequest ID it sent (InResponseTo must name
 * it), every accepted assertion ID is kept until its NotOnOrAfter (each is accepted once), and a
 * code handed out for an IdP-initiated response (a connection's opt-in) has no PKCE challenge.
 */
export class Migration20261207040000SamlFlows extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "sso_flows" add column "saml_request_id" text null;`);
    this.addSql(`alter table "sso_flows" add constraint "sso_flows_saml_request_id_unique" unique ("saml_request_id");`);
    this.addSql(`alter table "sso_codes" alter column "code_challenge" drop not null;`);

    this.addSql(`create table if not exists "sso_assertions" ("id" uuid not null, "connection_id" uuid not null, "assertion_hash" text not null, "expires_at" timestamptz not null, constraint "sso_assertions_pkey" primary key ("id"));`);
    this.addSql(`alter table "sso_assertions" add constraint "sso_assertions_connection_assertion_unique" unique ("connection_id", "assertion_hash");`);
    this.addSql(`create index "sso_assertions_expires_idx" on "sso_assertions" ("expires_at");`);
    this.addSql(`alter table "sso_assertions" add constraint "sso_assertions_connection_id_foreign" foreign key ("connection_id") references "sso_connections" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "sso_assertions";`);
    this.addSql(`alter table "sso_codes" alter column "code_challenge" set not null;`);
    this.addSql(`alter table "sso_flows" drop constraint "sso_flows_saml_request_id_unique";`);
    this.addSql(`alter table "sso_flows" drop column "saml_request_id";`);
  }
}
