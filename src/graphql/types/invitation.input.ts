import { InputType } from 'type-graphql';
import { TextField, TextListField } from '../text-field.js';

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
