import { Field, ID, InputType } from 'type-graphql';
import { TextField, TextListField } from '../text-field.js';

@InputType({ description: 'Narrow the users listed: all given conditions hold.' })
export class UserFilter {
  @TextField('email', { nullable: true, description: 'Part of the address (case-insensitive).' })
  email?: string | null;

  @TextField('roleName', { nullable: true, description: 'Users holding this role.' })
  role?: string | null;

  @Field(() => Boolean, { nullable: true })
  disabled?: boolean | null;
}

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

@InputType({ description: 'Whom to invite, and with which roles (none beyond the inviter\'s own permissions).' })
export class InviteUserInput {
  @TextField('email')
  email!: string;

  @TextListField('roleName', { description: 'Role names of the tenant.' })
  roles!: string[];
}

@InputType({ description: 'The `token` of the invitation link, and a password for a new account; signed in (access token), no password.' })
export class AcceptInvitationInput {
  @TextField('mailedToken')
  token!: string;

  @TextField('newPassword', { nullable: true, description: 'For a new account; leave out to accept signed in.' })
  password?: string | null;
}
