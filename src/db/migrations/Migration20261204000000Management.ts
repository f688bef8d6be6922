import { Migration } from '@mikro-orm/migrations';

/** Sessions remember the client they were started and last refreshed from (own session lists). */
export class Migration20261204000000Management extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "sessions" add column "ip" text null, add column "user_agent" text null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "sessions" drop column "ip", drop column "user_agent";`);
  }
}
