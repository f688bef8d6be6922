import { Migration } from '@mikro-orm/migrations';

/** API keys, stored as keyed hashes. */
export class Migration20261125040000ApiKeys extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "api_keys" ("id" uuid not null, "tenant_id" uuid not null, "user_id" uuid not null, "name" text not null, "prefix" text not null, "key_hash" text not null, "scopes" text[] not null, "created_at" timestamptz not null, "expires_at" timestamptz null, "last_used_at" timestamptz null, "revoked_at" timestamptz null, constraint "api_keys_pkey" primary key ("id"));`);
    this.addSql(`alter table "api_keys" add constraint "api_keys_hash_unique" unique ("key_hash");`);
    this.addSql(`create index "api_keys_user_idx" on "api_keys" ("user_id");`);
    this.addSql(`create index "api_keys_tenant_idx" on "api_keys" ("tenant_id");`);
    this.addSql(`alter table "api_keys" add constraint "api_keys_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "api_keys" add constraint "api_keys_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "api_keys" cascade;`);
  }
}
