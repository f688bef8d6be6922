import { Migration } from '@mikro-orm/migrations';

/** Passkeys: registered credentials and server-side, single-use challenges. */
export class Migration20261125020000Webauthn extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "webauthn_challenges" ("id" uuid not null, "challenge" text not null, "kind" text not null, "tenant_id" uuid null, "user_id" uuid null, "expires_at" timestamptz not null, "created_at" timestamptz not null, constraint "webauthn_challenges_pkey" primary key ("id"));`);
    this.addSql(`alter table "webauthn_challenges" add constraint "webauthn_challenges_challenge_unique" unique ("challenge");`);
    this.addSql(`create index "webauthn_challenges_expires_idx" on "webauthn_challenges" ("expires_at");`);
    this.addSql(`create table "webauthn_credentials" ("id" uuid not null, "tenant_id" uuid not null, "user_id" uuid not null, "credential_id" text not null, "public_key" bytea not null, "counter" bigint not null, "transports" text[] not null, "device_type" text not null, "backed_up" boolean not null, "user_handle" text not null, "name" text not null default 'passkey', "created_at" timestamptz not null, "last_used_at" timestamptz null, constraint "webauthn_credentials_pkey" primary key ("id"));`);
    this.addSql(`create index "webauthn_credentials_user_idx" on "webauthn_credentials" ("user_id");`);
    this.addSql(`alter table "webauthn_credentials" add constraint "webauthn_credentials_tenant_credential_unique" unique ("tenant_id", "credential_id");`);
    this.addSql(`alter table "webauthn_credentials" add constraint "webauthn_credentials_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "webauthn_credentials" add constraint "webauthn_credentials_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "webauthn_credentials" cascade;`);
    this.addSql(`drop table if exists "webauthn_challenges" cascade;`);
  }
}
