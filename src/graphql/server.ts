import { ApolloServer } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { fastifyApolloDrainPlugin } from '@as-integrations/fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import type { RequestContext } from '../context.js';
import { operationByGraphqlField, operations } from '../errors/catalog.js';
import { graphqlExtensions, logAuthError, toAuthError } from '../errors/format.js';
import { gatewaySchema } from './schema.js';

/**
 * GraphQL side of the one formatter. Document errors (parse, validation, variable
 * coercion) keep Apollo's standard codes; anything raised while resolving a field is
 * classified through the catalog for that field's operation and masked.
 */
export function formatGraphqlError(log: FastifyBaseLogger, formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  if (!formatted.path || formatted.path.length === 0) {
    const { extensions, ...rest } = formatted;
    return { ...rest, extensions: { code: extensions?.code ?? 'INTERNAL_SERVER_ERROR' } };
  }
  const field = String(formatted.path[0]);
  const op = operationByGraphqlField(field) ?? operations.me;
  const authError = toAuthError(unwrapResolverError(error), op);
  logAuthError(log, authError, { transport: 'graphql', operation: field });
  return {
    message: authError.message,
    locations: formatted.locations,
    path: formatted.path,
    extensions: graphqlExtensions(authError),
  };
}

export async function createApollo(app: FastifyInstance, config: Config): Promise<ApolloServer<RequestContext>> {
  const apollo = new ApolloServer<RequestContext>({
    schema: await gatewaySchema(),
    introspection: config.graphql.introspection,
    includeStacktraceInErrorResponses: false,
    hideSchemaDetailsFromClientErrors: config.production,
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    formatError: (formatted, error) => formatGraphqlError(app.log, formatted, error),
    plugins: [
      fastifyApolloDrainPlugin(app),
      config.graphql.sandbox
        ? ApolloServerPluginLandingPageLocalDefault({ embed: true, footer: false })
        : ApolloServerPluginLandingPageDisabled(),
    ],
  });
  await apollo.start();
  return apollo;
}
