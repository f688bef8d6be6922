import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { connectionOf } from './connection.type.js';

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

export const InvitationConnection = connectionOf(Invitation, 'Invitation', 'invitations');
