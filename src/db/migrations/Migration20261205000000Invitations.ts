import { Migration } from '@mikro-orm/migrations';

/** Invitations: an address, its roles, a mailed single-use token (keyed hash), and who invited. */
export class Migration20261205000000Invitations extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "invitations" ("id" uuid not null, "tenant_id" uuid not null, "email" text not null, "roles" text[] not null default '{}', "token_hash" text not null, "invited_by" uuid not null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "accepted_at" timestamptz null, "accepted_by" uuid null, "revoked_at" timestamptz null, constraint "invitations_pkey" primary key ("id"));`);
    this.addSql(`alter table "invitations" add constraint "invitations_token_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "invitations_tenant_created_idx" on "invitations" ("tenant_id", "created_at");`);
    this.addSql(`create index "invitations_invited_by_idx" on "invitations" ("invited_by", "created_at");`);
    this.addSql(`create index "invitations_expires_idx" on "invitations" ("expires_at");`);
    this.addSql(`alter table "invitations" add constraint "invitations_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "invitations" cascade;`);
  }
}
