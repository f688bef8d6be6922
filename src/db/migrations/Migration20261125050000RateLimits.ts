import { Migration } from '@mikro-orm/migrations';

/**
 * Brute-force counters shared by every instance (rate-limiter-flexible's PostgreSQL store,
 * whose table layout this is). Keys are keyed hashes: no e-mail or address is stored.
 */
export class Migration20261125050000RateLimits extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table if not exists "rate_limits" ("key" varchar(255) primary key, "points" integer not null default 0, "expire" bigint);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "rate_limits";`);
  }
}
