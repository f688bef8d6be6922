import { Field, ID, InputType } from 'type-graphql';
import { TextField } from '../text-field.js';

@InputType({ description: 'Narrow the audit events listed: all given conditions hold.' })
export class AuditFilter {
  @Field(() => ID, { nullable: true, description: 'Events done by or concerning this user.' })
  userId?: string | null;

  @TextField('roleName', { nullable: true, description: 'An event type, e.g. session_started.' })
  type?: string | null;

  @Field(() => Date, { nullable: true })
  since?: Date | null;

  @Field(() => Date, { nullable: true })
  until?: Date | null;
}
