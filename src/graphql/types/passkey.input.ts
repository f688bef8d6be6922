import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, InputType } from 'type-graphql';
import { TextField } from '../text-field.js';

@InputType()
export class WebauthnRegisterVerifyInput {
  @Field(() => GraphQLJSONObject, { description: 'RegistrationResponseJSON from the browser.' })
  response!: Record<string, unknown>;

  @TextField('passkeyName', { nullable: true, description: 'A name to recognise the passkey by (default "passkey").' })
  name?: string | null;
}

@InputType()
export class WebauthnLoginOptionsInput {
  @TextField('tenant', { description: 'The tenant slug.' })
  tenant!: string;

  @TextField('email', { nullable: true, description: 'Omit for a discoverable-credential (username-less) login.' })
  email?: string | null;
}

@InputType()
export class WebauthnLoginVerifyInput {
  @TextField('tenant')
  tenant!: string;

  @Field(() => GraphQLJSONObject, { description: 'AuthenticationResponseJSON from the browser.' })
  response!: Record<string, unknown>;
}
