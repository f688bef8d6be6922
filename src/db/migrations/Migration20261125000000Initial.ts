import { Migration } from '@mikro-orm/migrations';

/** Tenants, permissions, roles, users with their roles, sessions and their hashed refresh tokens. */
export class Migration20261125000000Initial extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "permissions" ("id" uuid not null, "name" text not null, constraint "permissions_pkey" primary key ("id"));`);
    this.addSql(`alter table "permissions" add constraint "permissions_name_unique" unique ("name");`);
    this.addSql(`create table "tenants" ("id" uuid not null, "slug" text not null, "name" text not null, "google_domains" text[] not null, "default_roles" text[] not null, "created_at" timestamptz not null, constraint "tenants_pkey" primary key ("id"));`);
    this.addSql(`alter table "tenants" add constraint "tenants_slug_unique" unique ("slug");`);
    this.addSql(`create table "roles" ("id" uuid not null, "tenant_id" uuid not null, "name" text not null, "created_at" timestamptz not null, constraint "roles_pkey" primary key ("id"));`);
    this.addSql(`alter table "roles" add constraint "roles_tenant_name_unique" unique ("tenant_id", "name");`);
    this.addSql(`create table "role_permissions" ("role_id" uuid not null, "permission_id" uuid not null, constraint "role_permissions_pkey" primary key ("role_id", "permission_id"));`);
    this.addSql(`create table "users" ("id" uuid not null, "tenant_id" uuid not null, "email" text not null, "password_hash" text null, "disabled" boolean not null default false, "password_changed_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "users_pkey" primary key ("id"));`);
    this.addSql(`alter table "users" add constraint "users_tenant_email_unique" unique ("tenant_id", "email");`);
    this.addSql(`create table "sessions" ("id" uuid not null, "tenant_id" uuid not null, "user_id" uuid not null, "auth_method" text not null, "created_at" timestamptz not null, "last_used_at" timestamptz not null, "expires_at" timestamptz not null, "revoked_at" timestamptz null, "revoked_reason" text null, constraint "sessions_pkey" primary key ("id"));`);
    this.addSql(`create index "sessions_user_idx" on "sessions" ("user_id");`);
    this.addSql(`create table "refresh_tokens" ("id" uuid not null, "session_id" uuid not null, "token_hash" text not null, "parent_id" uuid null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "rotated_at" timestamptz null, constraint "refresh_tokens_pkey" primary key ("id"));`);
    this.addSql(`alter table "refresh_tokens" add constraint "refresh_tokens_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "refresh_tokens_session_idx" on "refresh_tokens" ("session_id");`);
    this.addSql(`create table "user_roles" ("user_id" uuid not null, "role_id" uuid not null, constraint "user_roles_pkey" primary key ("user_id", "role_id"));`);
    this.addSql(`alter table "roles" add constraint "roles_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "role_permissions" add constraint "role_permissions_role_id_foreign" foreign key ("role_id") references "roles" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "role_permissions" add constraint "role_permissions_permission_id_foreign" foreign key ("permission_id") references "permissions" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "users" add constraint "users_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "sessions" add constraint "sessions_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "sessions" add constraint "sessions_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "refresh_tokens" add constraint "refresh_tokens_session_id_foreign" foreign key ("session_id") references "sessions" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "refresh_tokens" add constraint "refresh_tokens_parent_id_foreign" foreign key ("parent_id") references "refresh_tokens" ("id") on update cascade on delete set null;`);
    this.addSql(`alter table "user_roles" add constraint "user_roles_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "user_roles" add constraint "user_roles_role_id_foreign" foreign key ("role_id") references "roles" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    for (const table of ['refresh_tokens', 'sessions', 'user_roles', 'users', 'role_permissions', 'roles', 'tenants', 'permissions']) {
      this.addSql(`drop table if exists "${table}" cascade;`);
    }
  }
}
