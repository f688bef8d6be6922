import { Field, InputType } from 'type-graphql';
import { TextField } from '../text-field.js';

@InputType()
export class LoginInput {
  @TextField('tenant', { description: 'The tenant slug.' })
  tenant!: string;

  @TextField('email')
  email!: string;

  @TextField('password')
  password!: string;

  @Field(() => Boolean, { nullable: true, description: 'The break-glass form: where SSO is enforced for the address, a holder of sso:bypass signs in with the password (audited).' })
  breakGlass?: boolean | null;
}
