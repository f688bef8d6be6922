import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, ObjectType } from 'type-graphql';
import { connectionOf } from './connection.type.js';

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

export const AuditEventConnection = connectionOf(AuditEventInfo, 'AuditEvent', 'audit events');
