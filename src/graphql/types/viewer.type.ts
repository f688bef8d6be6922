import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';

export enum AuthMethod {
  password = 'password',
  webauthn = 'webauthn',
  google = 'google',
  api_key = 'api_key',
}
registerEnumType(AuthMethod, { name: 'AuthMethod', description: 'How the caller authenticated.' });

@ObjectType({ description: 'The authenticated user as the gateway sees them.' })
export class Viewer {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  email!: string;

  @Field(() => String, { description: 'The tenant slug.' })
  tenant!: string;

  @Field(() => [String])
  roles!: string[];

  @Field(() => [String])
  permissions!: string[];

  @Field(() => AuthMethod)
  authMethod!: AuthMethod;
}
