import { Migration } from '@mikro-orm/migrations';

/**
 * SPEC §15's bounded tables: indexes for the purge's new rules, so that finding what goes
 * never scans a whole table (email_tokens, mfa_challenges and invitations already have theirs
 * on expires_at): API keys by expiry and by revocation, and sign-ups never verified by age
 * (a partial index: verified users, nearly all of them, are not in it).
 */
export class Migration20261207000000Bounds extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index if not exists "api_keys_expires_idx" on "api_keys" ("expires_at");`);
    this.addSql(`create index if not exists "api_keys_revoked_idx" on "api_keys" ("revoked_at");`);
    this.addSql(`create index if not exists "users_unverified_created_idx" on "users" ("created_at") where not "email_verified";`);
  }

  override async down(): Promise<void> {
    for (const index of ['users_unverified_created_idx', 'api_keys_revoked_idx', 'api_keys_expires_idx']) this.addSql(`drop index if exists "${index}";`);
  }
}
