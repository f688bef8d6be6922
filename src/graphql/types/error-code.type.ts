import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { errorCodes, type ErrorCode } from '../../errors/catalog.js';

/** The catalog's codes as a GraphQL enum; values are the codes themselves. */
export const AuthErrorCode = Object.fromEntries(errorCodes.map((c) => [c, c])) as { [K in ErrorCode]: K };
registerEnumType(AuthErrorCode, {
  name: 'AuthErrorCode',
  description: 'Every code the gateway answers in extensions.code (and the REST detail.code).',
});

@ObjectType({ description: 'One entry of the error catalog (GET /auth/error-codes).' })
export class ErrorCodeInfo {
  @Field(() => AuthErrorCode)
  code!: ErrorCode;

  @Field(() => Int)
  status!: number;

  @Field(() => String, { description: 'client, server or dependency' })
  class!: string;

  @Field(() => Boolean)
  retryable!: boolean;

  @Field(() => [String])
  routes!: string[];

  @Field(() => [String])
  graphqlFields!: string[];

  @Field(() => String)
  message!: string;

  @Field(() => String)
  meaning!: string;

  @Field(() => String)
  action!: string;

  @Field(() => String)
  since!: string;
}
