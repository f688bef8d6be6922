import { InputType } from 'type-graphql';
import { TextField } from '../text-field.js';

@InputType()
export class LoginInput {
  @TextField('tenant', { description: 'The tenant slug.' })
  tenant!: string;

  @TextField('email')
  email!: string;

  @TextField('password')
  password!: string;
}
