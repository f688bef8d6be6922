import { Migration } from '@mikro-orm/migrations';

/** Google sign-in: users linked to external accounts by (tenant, issuer, subject). */
export class Migration20261125030000ExternalIdentities extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "external_identities" ("id" uuid not null, "tenant_id" uuid not null, "user_id" uuid not null, "issuer" text not null, "subject" text not null, "email_at_link" text not null, "created_at" timestamptz not null, "last_used_at" timestamptz null, constraint "external_identities_pkey" primary key ("id"));`);
    this.addSql(`create index "external_identities_user_idx" on "external_identities" ("user_id");`);
    this.addSql(`alter table "external_identities" add constraint "external_identities_tenant_issuer_subject_unique" unique ("tenant_id", "issuer", "subject");`);
    this.addSql(`alter table "external_identities" add constraint "external_identities_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "external_identities" add constraint "external_identities_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "external_identities" cascade;`);
  }
}
