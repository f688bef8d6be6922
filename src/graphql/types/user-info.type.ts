import { Field, ID, Int, ObjectType } from 'type-graphql';
import { connectionOf } from './connection.type.js';

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

export const UserConnection = connectionOf(UserInfo, 'User', 'users');
