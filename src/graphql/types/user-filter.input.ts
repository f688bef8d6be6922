import { Field, InputType } from 'type-graphql';
import { TextField } from '../text-field.js';

@InputType({ description: 'Narrow the users listed: all given conditions hold.' })
export class UserFilter {
  @TextField('email', { nullable: true, description: 'Part of the address (case-insensitive).' })
  email?: string | null;

  @TextField('roleName', { nullable: true, description: 'Users holding this role.' })
  role?: string | null;

  @Field(() => Boolean, { nullable: true })
  disabled?: boolean | null;
}
