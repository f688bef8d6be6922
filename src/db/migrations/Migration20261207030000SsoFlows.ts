import { Migration } from '@mikro-orm/migrations';

/**
 * SPEC §11, the sign-in through a connection: flows begun at ssoStart (state, nonce and PKCE
 * towards the IdP, kept server-side so any instance finishes them), the one-time codes handed to
 * the app, the links from IdP accounts to users, and the roles a connection's role_map granted
 * (so it removes only its own).
 */
export class Migration20261207030000SsoFlows extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table if not exists "sso_flows" ("id" uuid not null, "state_hash" text not null, "connection_id" uuid not null, "redirect_to" text not null, "code_challenge" text not null, "nonce" text null, "pkce_verifier" text null, "created_at" timestamptz not null, "expires_at" timestamptz not null, constraint "sso_flows_pkey" primary key ("id"));`);
    this.addSql(`alter table "sso_flows" add constraint "sso_flows_state_hash_unique" unique ("state_hash");`);
    this.addSql(`create index "sso_flows_expires_idx" on "sso_flows" ("expires_at");`);
    this.addSql(`alter table "sso_flows" add constraint "sso_flows_connection_id_foreign" foreign key ("connection_id") references "sso_connections" ("id") on update cascade on delete cascade;`);

    this.addSql(`create table if not exists "sso_codes" ("id" uuid not null, "code_hash" text not null, "user_id" uuid not null, "connection_id" uuid not null, "code_challenge" text not null, "amr" text[] not null, "created_at" timestamptz not null, "expires_at" timestamptz not null, constraint "sso_codes_pkey" primary key ("id"));`);
    this.addSql(`alter table "sso_codes" add constraint "sso_codes_code_hash_unique" unique ("code_hash");`);
    this.addSql(`create index "sso_codes_expires_idx" on "sso_codes" ("expires_at");`);
    this.addSql(`alter table "sso_codes" add constraint "sso_codes_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "sso_codes" add constraint "sso_codes_connection_id_foreign" foreign key ("connection_id") references "sso_connections" ("id") on update cascade on delete cascade;`);

    this.addSql(`create table if not exists "sso_role_grants" ("user_id" uuid not null, "role_id" uuid not null, "connection_id" uuid not null, constraint "sso_role_grants_pkey" primary key ("user_id", "role_id", "connection_id"));`);
    this.addSql(`alter table "sso_role_grants" add constraint "sso_role_grants_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "sso_role_grants" add constraint "sso_role_grants_role_id_foreign" foreign key ("role_id") references "roles" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "sso_role_grants" add constraint "sso_role_grants_connection_id_foreign" foreign key ("connection_id") references "sso_connections" ("id") on update cascade on delete cascade;`);

    this.addSql(`create table if not exists "sso_identities" ("id" uuid not null, "connection_id" uuid not null, "user_id" uuid not null, "subject" text not null, "email_at_link" text not null, "created_at" timestamptz not null, "last_used_at" timestamptz null, constraint "sso_identities_pkey" primary key ("id"));`);
    this.addSql(`create index "sso_identities_user_idx" on "sso_identities" ("user_id");`);
    this.addSql(`alter table "sso_identities" add constraint "sso_identities_connection_subject_unique" unique ("connection_id", "subject");`);
    this.addSql(`alter table "sso_identities" add constraint "sso_identities_connection_id_foreign" foreign key ("connection_id") references "sso_connections" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "sso_identities" add constraint "sso_identities_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "sso_identities";`);
    this.addSql(`drop table if exists "sso_role_grants";`);
    this.addSql(`drop table if exists "sso_codes";`);
    this.addSql(`drop table if exists "sso_flows";`);
  }
}
