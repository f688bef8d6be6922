import { Field, ObjectType } from 'type-graphql';
import { LinkedIdentity } from './linked-identity.type.js';
import { Passkey } from './passkey.type.js';

@ObjectType({ description: 'The caller\'s ways to sign in.' })
export class Identities {
  @Field(() => Boolean, { description: 'Whether a password is set.' })
  password!: boolean;

  @Field(() => [Passkey])
  passkeys!: Passkey[];

  @Field(() => [LinkedIdentity])
  google!: LinkedIdentity[];
}
