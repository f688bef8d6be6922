import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, Int, ObjectType, registerEnumType, type ClassType } from 'type-graphql';
import { LinkedIdentity } from './linked-identity.type.js';
import { Passkey } from './passkey.type.js';
import { AuthMethod } from './viewer.type.js';
import type { AuthMethod as AuthMethodName } from '../../db/entities/session.entity.js';

@ObjectType({ description: 'One of the caller\'s live sessions.' })
export class SessionInfo {
  @Field(() => ID)
  id!: string;

  @Field(() => Boolean, { description: 'The session of the access token asking.' })
  current!: boolean;

  @Field(() => AuthMethod)
  authMethod!: AuthMethodName;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  lastUsedAt!: Date;

  @Field(() => String, { nullable: true, description: 'The client address it was started, or last refreshed, from.' })
  ip!: string | null;

  @Field(() => String, { nullable: true })
  userAgent!: string | null;

  @Field(() => Date)
  expiresAt!: Date;
}

@ObjectType({ description: 'The caller\'s ways to sign in.' })
export class Identities {
  @Field(() => Boolean, { description: 'Whether a password is set.' })
  password!: boolean;

  @Field(() => [Passkey])
  passkeys!: Passkey[];

  @Field(() => [LinkedIdentity])
  google!: LinkedIdentity[];
}

@ObjectType({ description: 'A user of the tenant, as its administrators see them.' })
export class UserInfo {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  email!: string;

  @Field(() => [String])
  roles!: string[];

  @Field(() => Boolean)
  disabled!: boolean;

  @Field(() => Boolean)
  emailVerified!: boolean;

  @Field(() => Boolean)
  mfaEnabled!: boolean;

  @Field(() => Int)
  passkeyCount!: number;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  lastSignInAt!: Date | null;
}

@ObjectType()
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

/** A Relay-style connection of `Node`s (`<name>Edge`, `<name>Connection`): the admin lists' one shape. */
function connectionOf<T extends object>(Node: ClassType<T>, name: string, what: string) {
  @ObjectType(`${name}Edge`)
  class Edge {
    @Field(() => String, { description: 'Opaque; pass it as `after` for the next page.' })
    cursor!: string;

    @Field(() => Node)
    node!: T;
  }

  @ObjectType(`${name}Connection`, { description: `A page of ${what}, newest first.` })
  class Connection {
    @Field(() => [Edge])
    edges!: Edge[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;
  }
  return Connection;
}

@ObjectType()
export class AuditPerson {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true, description: 'Null once the user is gone.' })
  email!: string | null;
}

@ObjectType({ description: 'A change of security state.' })
export class AuditEventInfo {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  type!: string;

  @Field(() => AuditPerson, { nullable: true, description: 'Who did it.' })
  actor!: AuditPerson | null;

  @Field(() => AuditPerson, { nullable: true, description: 'Whom it concerns.' })
  subject!: AuditPerson | null;

  @Field(() => String, { nullable: true })
  ip!: string | null;

  @Field(() => String, { nullable: true })
  userAgent!: string | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => GraphQLJSONObject)
  details!: Record<string, unknown>;
}


export enum InvitationStatus {
  PENDING = 'pending',
  ACCEPTED = 'accepted',
  REVOKED = 'revoked',
  EXPIRED = 'expired',
}
registerEnumType(InvitationStatus, { name: 'InvitationStatus', description: 'Where an invitation stands.' });

@ObjectType({ description: 'An invitation to the tenant.' })
export class Invitation {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  email!: string;

  @Field(() => [String])
  roles!: string[];

  @Field(() => InvitationStatus)
  status!: InvitationStatus;

  @Field(() => Date)
  expiresAt!: Date;

  @Field(() => Date)
  createdAt!: Date;
}

export const UserConnection = connectionOf(UserInfo, 'User', 'users');
export const AuditEventConnection = connectionOf(AuditEventInfo, 'AuditEvent', 'audit events');
export const InvitationConnection = connectionOf(Invitation, 'Invitation', 'invitations');
