import { Migration } from '@mikro-orm/migrations';

/**
 * SPEC §12: a confidential client authenticates with client_secret_basic (the default),
 * client_secret_post, or private_key_jwt with its registered jwks_uri; and a device that polls
 * faster than the device grant's interval is told slow_down (RFC 8628), so a pending device
 * code keeps when it was last polled.
 */
export class Migration20261207070000OpClientAuth extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "oauth_clients" add column if not exists "token_endpoint_auth_method" text null;`);
    this.addSql(`alter table "oidc_models" add column if not exists "polled_at" timestamptz null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "oauth_clients" drop column if exists "token_endpoint_auth_method";`);
    this.addSql(`alter table "oidc_models" drop column if exists "polled_at";`);
  }
}
