import { Migration } from '@mikro-orm/migrations';

/** Sessions remember when and how the user last proved a credential (auth_time, amr). */
export class Migration20261201000000Security extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "sessions" add column "auth_time" timestamptz null, add column "amr" text[] not null default '{}';`);
    // Sessions started before: their proof was the sign-in itself.
    this.addSql(`update "sessions" set "auth_time" = "created_at", "amr" = case "auth_method" when 'password' then '{pwd}'::text[] when 'webauthn' then '{hwk}'::text[] when 'google' then '{fed}'::text[] else '{}'::text[] end;`);
    this.addSql(`alter table "sessions" alter column "auth_time" set not null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "sessions" drop column "auth_time", drop column "amr";`);
  }
}
