import { Migration } from '@mikro-orm/migrations';

/**
 * Brute-force counters are not written to the WAL. Every login and refresh takes a point and
 * gives it back (two updates of the client address's row); logged, each update holds that row
 * until its commit is flushed to disk, so one busy address (a NAT, the benchmark) queues every
 * attempt behind a disk flush. Unlogged, the commit does not wait. The price, as with Redis
 * without persistence: after a PostgreSQL crash or a failover to a standby the counts start
 * over (the table is emptied on crash recovery and not replicated).
 */
export class Migration20261206000000UnloggedLimits extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "rate_limits" set unlogged;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "rate_limits" set logged;`);
  }
}
