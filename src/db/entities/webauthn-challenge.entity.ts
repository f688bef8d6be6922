import { randomUUID } from 'node:crypto';
import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

export type ChallengeKind = 'registration' | 'authentication';

/**
 * A WebAuthn challenge, kept in the database so any instance can verify it. Deleted by
 * its first verification attempt (successful or not): single use.
 */
@Entity({ tableName: 'webauthn_challenges' })
export class WebauthnChallenge {
  [OptionalProps]?: 'id' | 'createdAt' | 'tenantId' | 'userId';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'text', unique: 'webauthn_challenges_challenge_unique' })
  challenge!: string;

  @Property({ type: 'text' })
  kind!: ChallengeKind;

  /** Null when the options were asked for an unknown tenant (they look the same). */
  @Property({ type: 'uuid', nullable: true })
  tenantId: string | null = null;

  /** The user the ceremony is for: the registering user, or the e-mail's owner at login. */
  @Property({ type: 'uuid', nullable: true })
  userId: string | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', index: 'webauthn_challenges_expires_idx' })
  expiresAt!: Date;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();
}
