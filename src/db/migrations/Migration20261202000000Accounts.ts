import { Migration } from '@mikro-orm/migrations';

/**
 * The account lifecycle: tenant sign-up settings and the base URL of mailed links; verified
 * e-mail per user (existing users, made by the CLI or import, are verified); single-use mailed
 * tokens stored as keyed hashes; the mail outbox, whose content is encrypted at rest and
 * dropped once the mail is sent or abandoned.
 */
export class Migration20261202000000Accounts extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "tenants" add column "signup" text not null default 'closed', add column "signup_domains" text[] not null default '{}', add column "app_url" text null;`);
    this.addSql(`alter table "users" add column "email_verified" boolean not null default true;`);
    this.addSql(`create table "email_tokens" ("id" uuid not null, "tenant_id" uuid not null, "user_id" uuid not null, "kind" text not null, "token_hash" text not null, "created_at" timestamptz not null, "expires_at" timestamptz not null, constraint "email_tokens_pkey" primary key ("id"));`);
    this.addSql(`alter table "email_tokens" add constraint "email_tokens_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "email_tokens_user_kind_idx" on "email_tokens" ("user_id", "kind");`);
    this.addSql(`create index "email_tokens_expires_idx" on "email_tokens" ("expires_at");`);
    this.addSql(`alter table "email_tokens" add constraint "email_tokens_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "email_tokens" add constraint "email_tokens_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);
    this.addSql(`create table "mail_outbox" ("id" uuid not null, "tenant_id" uuid null, "kind" text not null, "status" text not null default 'pending', "payload" text null, "attempts" int not null default 0, "next_attempt_at" timestamptz not null, "created_at" timestamptz not null, "sent_at" timestamptz null, "last_error" text null, constraint "mail_outbox_pkey" primary key ("id"));`);
    this.addSql(`create index "mail_outbox_due_idx" on "mail_outbox" ("status", "next_attempt_at");`);
    this.addSql(`create index "mail_outbox_created_idx" on "mail_outbox" ("created_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "mail_outbox" cascade;`);
    this.addSql(`drop table if exists "email_tokens" cascade;`);
    this.addSql(`alter table "users" drop column "email_verified";`);
    this.addSql(`alter table "tenants" drop column "signup", drop column "signup_domains", drop column "app_url";`);
  }
}
