import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';
import { TextField } from '../text-field.js';

@ObjectType({ description: 'A registered passkey (WebAuthn credential) of the caller.' })
export class Passkey {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  lastUsedAt!: Date | null;

  @Field(() => String, { description: 'singleDevice or multiDevice' })
  deviceType!: string;

  @Field(() => Boolean)
  backedUp!: boolean;

  @Field(() => [String])
  transports!: string[];
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
