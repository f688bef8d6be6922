import { InputType } from 'type-graphql';
import { TextField } from '../text-field.js';

@InputType()
export class SignUpInput {
  @TextField('tenant', { description: 'The tenant slug.' })
  tenant!: string;

  @TextField('email')
  email!: string;

  @TextField('newPassword')
  password!: string;
}

@InputType({ description: 'A mailed token (the `token` of the link).' })
export class TokenInput {
  @TextField('mailedToken')
  token!: string;
}

@InputType()
export class EmailInput {
  @TextField('tenant', { description: 'The tenant slug.' })
  tenant!: string;

  @TextField('email')
  email!: string;
}

@InputType()
export class ResetPasswordInput {
  @TextField('mailedToken', { description: 'The `token` of the reset link.' })
  token!: string;

  @TextField('newPassword')
  password!: string;
}

@InputType()
export class ChangePasswordInput {
  @TextField('password')
  currentPassword!: string;

  @TextField('newPassword')
  newPassword!: string;
}
