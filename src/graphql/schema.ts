import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { authChecker } from './auth-checker.js';
import { ErrorCodesResolver } from './resolvers/error-codes.resolver.js';
import { LoginResolver } from './resolvers/login.resolver.js';
import { ViewerResolver } from './resolvers/viewer.resolver.js';

let schema: Promise<GraphQLSchema> | undefined;

/** The type-graphql schema; built once per process (schema.graphql is printed from it). */
export function gatewaySchema(): Promise<GraphQLSchema> {
  schema ??= buildSchema({
    resolvers: [LoginResolver, ViewerResolver, ErrorCodesResolver],
    authChecker,
    validate: false,
  });
  return schema;
}
