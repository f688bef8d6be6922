import { Migration } from '@mikro-orm/migrations';

/**
 * SPEC §15: when a second sign-up meets a pending one, the account is marked contested; from
 * then on a resend mails the set-password (reset) link instead of a link that would activate
 * the first sign-up's password, which its requester may not have chosen.
 */
export class Migration20261207010000ContestedSignups extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "users" add column if not exists "signup_contested_at" timestamptz null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "users" drop column if exists "signup_contested_at";`);
  }
}
