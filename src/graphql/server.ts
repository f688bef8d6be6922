import { ApolloServer } from '@apollo/server';
import { Kind, type GraphQLError, type GraphQLFormattedError, type OperationDefinitionNode } from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { fastifyApolloDrainPlugin } from '@as-integrations/fastify';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import type { RequestContext } from '../context.js';
import { AuthError } from '../errors/auth-error.js';
import { operationByGraphqlField } from '../api/operations.js';
import { graphqlExtensions, OUTSIDE_OPERATIONS, toAuthError } from '../errors/format.js';
import { OTHER_OPERATION } from '../observability/metrics.js';
import { GRAPHQL_DOCUMENT, recordDocumentFailure, recordFailure } from '../observability/request-log.js';
import { graphqlLimits } from './query-limits.js';
import { gatewaySchema } from './schema.js';

/**
 * graphql-js writes the offending value into the messages of variable and literal errors
 * (`Variable "$i" got invalid value { password: "..." }; ...`, `String cannot represent a non
 * string value: 5`). Nothing of the request is echoed (SPEC §16): the value goes, the names,
 * types and the path stay.
 */
export function withoutValues(message: string): string {
  const variable = /^Variable "(\$[_A-Za-z][_0-9A-Za-z]*)" got invalid value /.exec(message);
  if (variable) {
    const at = / at "([_A-Za-z][_0-9A-Za-z]*(?:\.[_A-Za-z][_0-9A-Za-z]*|\[\d+\])*)"; /.exec(message);
    const reason =
      /Field "[_A-Za-z][_0-9A-Za-z]*" (?:is not defined by type|of required type) "[_A-Za-z][_0-9A-Za-z!\[\]]*"(?: was not provided)?/.exec(message)?.[0] ??
      /Expected type "[_A-Za-z][_0-9A-Za-z!\[\]]*" to be an object/.exec(message)?.[0] ??
      /\b[_A-Za-z][_0-9A-Za-z]* cannot represent/.exec(message)?.[0].concat(' the value given') ??
      'the value does not fit its type';
    return `Variable "${variable[1]}" got an invalid value${at ? ` at "${at[1]}"` : ''}: ${reason}.`;
  }
  return message
    .replace(/(cannot represent [^:]*value): [\s\S]*$/, '$1.')
    .replace(/(Expected value of type "[^"]+"), found [\s\S]*$/, '$1.')
    .replace(/^Value "[\s\S]*" does not exist in "([_A-Za-z][_0-9A-Za-z]*)" enum\.[\s\S]*$/, 'The value does not exist in "$1" enum.')
    // The lexer quotes what it could not read (part of a string: a password, a token).
    .replace(/^(Syntax Error: (?:Invalid|Unexpected|Unterminated)[^:"]*?)(?::| found)? ?"[\s\S]*$/, '$1.')
    .replace(/^(Syntax Error: Expected [^,]+), found [\s\S]*$/, '$1.');
}

/**
 * GraphQL side of the one formatter. Document errors (parse, validation, variable
 * coercion) keep Apollo's standard codes; anything raised while resolving a field is
 * classified through the catalog for that field's operation and masked.
 */
export function formatGraphqlError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  if (!formatted.path || formatted.path.length === 0) {
    const { extensions, message, ...rest } = formatted;
    // A refusal of the whole document by one of our plugins (credentialFieldsNeedPost).
    const original = (error as Partial<GraphQLError>).originalError;
    if (original instanceof AuthError) return { ...rest, message: original.message, extensions: graphqlExtensions(original) };
    // The parser's token-limit message names the limit; limits are not told.
    const masked = /contains more th(?:an|at) \d+ tokens/.test(message) ? 'Syntax Error: the document is too large.' : withoutValues(message);
    return { ...rest, message: masked, extensions: { code: extensions?.code ?? 'INTERNAL_SERVER_ERROR' } };
  }
  const authError = classifyFieldError(rootFieldOf(formatted.path, error), error);
  return {
    message: authError.message,
    locations: formatted.locations,
    path: formatted.path,
    extensions: graphqlExtensions(authError),
  };
}

/**
 * The schema field a failed root field is, read from the document: `path[0]` is the response
 * key, which a client chooses (`{ x: login(...) }`), so it never names an operation, a
 * metric label or a log field. Errors below the root have no operation of their own.
 */
function rootFieldOf(path: readonly (string | number)[], error: unknown): string | undefined {
  if (path.length !== 1) return undefined;
  const node = (error as Partial<GraphQLError>).nodes?.[0];
  return node?.kind === Kind.FIELD ? node.name.value : undefined;
}

/** The catalog error of a failed root field: the same classification for the response and the log. */
function classifyFieldError(field: string | undefined, error: unknown): AuthError {
  return toAuthError(unwrapResolverError(error), (field && operationByGraphqlField(field)) || OUTSIDE_OPERATIONS);
}

/** Root field names of the operation (aliases resolved: labels stay within the schema). */
function rootFields(operation: OperationDefinitionNode): string[] {
  return operation.selectionSet.selections.map((s) => (s.kind === Kind.FIELD ? s.name.value : 'fragment'));
}

/** Feeds each request's log line and metrics: which fields ran, which codes came out. */
const observePlugin: ApolloServerPlugin<RequestContext> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operation, contextValue }) {
        if (operation) contextValue.observe.operations = rootFields(operation);
      },
      async didEncounterErrors({ errors, contextValue }) {
        for (const e of errors) {
          // A document our own plugin refused carries its catalog error (code and remedy) for the log and metrics too.
          if (!e.path?.length && e.originalError instanceof AuthError) recordFailure(contextValue.observe, contextValue.log, e.originalError, GRAPHQL_DOCUMENT);
          else if (!e.path?.length) recordDocumentFailure(contextValue.observe, String(e.extensions?.code ?? 'INTERNAL_SERVER_ERROR'));
          else {
            const field = rootFieldOf(e.path, e);
            recordFailure(contextValue.observe, contextValue.log, classifyFieldError(field, e), field ?? OTHER_OPERATION);
          }
        }
      },
    };
  },
};

export async function createApollo(app: FastifyInstance, config: Config): Promise<ApolloServer<RequestContext>> {
  const limits = graphqlLimits(config);
  const apollo = new ApolloServer<RequestContext>({
    schema: await gatewaySchema(),
    introspection: config.graphql.introspection,
    includeStacktraceInErrorResponses: false,
    // "Did you mean ..." only in development.
    hideSchemaDetailsFromClientErrors: config.env !== 'development',
    validationRules: limits.validationRules,
    parseOptions: limits.parseOptions,
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    formatError: formatGraphqlError,
    plugins: [
      fastifyApolloDrainPlugin(app),
      observePlugin,
      ...limits.plugins,
      config.graphql.sandbox
        ? ApolloServerPluginLandingPageLocalDefault({ embed: true, footer: false })
        : ApolloServerPluginLandingPageDisabled(),
    ],
  });
  await apollo.start();
  return apollo;
}
