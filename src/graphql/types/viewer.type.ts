import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { AUTH_METHODS, type AuthMethod as AuthMethodName } from '../../db/entities/session.entity.js';

/** The GraphQL enum of the one list of authentication methods. */
export const AuthMethod = Object.fromEntries(AUTH_METHODS.map((m) => [m, m])) as { [K in AuthMethodName]: K };
registerEnumType(AuthMethod, { name: 'AuthMethod', description: 'How the caller authenticated.' });

@ObjectType({ description: 'The authenticated user as the gateway sees them.' })
export class Viewer {
  @Field(() => ID, { name: 'id' })
  userId!: string;

  @Field(() => String)
  email!: string;

  @Field(() => String, { name: 'tenant', description: 'The tenant slug.' })
  tenantSlug!: string;

  @Field(() => [String])
  roles!: string[];

  @Field(() => [String])
  permissions!: string[];

  @Field(() => AuthMethod)
  authMethod!: AuthMethodName;

  @Field(() => Boolean, { description: 'The tenant requires a second factor for a role the user holds, and this sign-in had one: only enrolling one is allowed.' })
  mfaRequired!: boolean;
}
