import { Migration } from '@mikro-orm/migrations';

/**
 * Multi-factor authentication: one TOTP factor per user (its secret sealed under a key derived
 * from SECRET_KEY, the last accepted time step for replay refusal), recovery codes as keyed
 * hashes, and the single-use mfa tokens of the second sign-in step.
 */
export class Migration20261203000000Mfa extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "tenants" add column "mfa_required_roles" text[] not null default '{}';`);
    this.addSql(`create table "mfa_factors" ("id" uuid not null, "tenant_id" uuid not null, "user_id" uuid not null, "kind" text not null default 'totp', "secret" text not null, "status" text not null default 'pending', "last_step" bigint null, "created_at" timestamptz not null, "activated_at" timestamptz null, constraint "mfa_factors_pkey" primary key ("id"));`);
    this.addSql(`alter table "mfa_factors" add constraint "mfa_factors_user_unique" unique ("user_id");`);
    this.addSql(`alter table "mfa_factors" add constraint "mfa_factors_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "mfa_factors" add constraint "mfa_factors_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);
    this.addSql(`create table "mfa_recovery_codes" ("id" uuid not null, "user_id" uuid not null, "code_hash" text not null, "created_at" timestamptz not null, "used_at" timestamptz null, constraint "mfa_recovery_codes_pkey" primary key ("id"));`);
    this.addSql(`alter table "mfa_recovery_codes" add constraint "mfa_recovery_codes_hash_unique" unique ("code_hash");`);
    this.addSql(`create index "mfa_recovery_codes_user_idx" on "mfa_recovery_codes" ("user_id");`);
    this.addSql(`alter table "mfa_recovery_codes" add constraint "mfa_recovery_codes_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);
    this.addSql(`create table "mfa_challenges" ("id" uuid not null, "tenant_id" uuid not null, "user_id" uuid not null, "token_hash" text not null, "method" text not null, "amr" text[] not null default '{}', "attempts" int not null default 0, "created_at" timestamptz not null, "expires_at" timestamptz not null, constraint "mfa_challenges_pkey" primary key ("id"));`);
    this.addSql(`alter table "mfa_challenges" add constraint "mfa_challenges_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "mfa_challenges_expires_idx" on "mfa_challenges" ("expires_at");`);
    this.addSql(`alter table "mfa_challenges" add constraint "mfa_challenges_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "mfa_challenges" cascade;`);
    this.addSql(`drop table if exists "mfa_recovery_codes" cascade;`);
    this.addSql(`drop table if exists "mfa_factors" cascade;`);
    this.addSql(`alter table "tenants" drop column "mfa_required_roles";`);
  }
}
