import { Field, ID, ObjectType } from 'type-graphql';
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
