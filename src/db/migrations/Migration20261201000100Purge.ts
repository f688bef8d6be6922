import { Migration } from '@mikro-orm/migrations';

/**
 * Indexes for the purge (src/services/purge.service.ts), so that finding expired or dead
 * rows never scans a whole table: sessions by each way they die (absolute expiry,
 * revocation, idle), audit events by age, rate-limit rows by expiry. Expired WebAuthn
 * challenges already have webauthn_challenges_expires_idx, and a session's refresh tokens
 * refresh_tokens_session_idx. `if not exists` lets an operator with big tables build them
 * beforehand with `create index concurrently` (this migration runs in a transaction).
 */
export class Migration20261201000100Purge extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index if not exists "sessions_expires_idx" on "sessions" ("expires_at");`);
    this.addSql(`create index if not exists "sessions_revoked_idx" on "sessions" ("revoked_at");`);
    this.addSql(`create index if not exists "sessions_last_used_idx" on "sessions" ("last_used_at");`);
    this.addSql(`create index if not exists "audit_events_created_idx" on "audit_events" ("created_at");`);
    this.addSql(`create index if not exists "rate_limits_expire_idx" on "rate_limits" ("expire");`);
  }

  override async down(): Promise<void> {
    for (const index of ['rate_limits_expire_idx', 'audit_events_created_idx', 'sessions_last_used_idx', 'sessions_revoked_idx', 'sessions_expires_idx']) {
      this.addSql(`drop index if exists "${index}";`);
    }
  }
}
