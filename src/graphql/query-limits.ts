// GraphQL abuse limits: graphql-armor (aliases, depth, tokens, cost, field suggestions) and
// one rule of ours: a document may hold at most one credential-checking field, so an
// aliased batch of 50 logins costs no password hash at all (it never runs).
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { GraphQLError, Kind, type FragmentDefinitionNode, type SelectionSetNode, type ValidationRule } from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import type { Config } from '../config.js';
import { AuthError } from '../errors/auth-error.js';
import type { RequestContext } from '../context.js';

/** Root fields that check a credential (a password, token, key, assertion or ID token). */
export const CREDENTIAL_FIELDS = new Set([
  'login',
  'refresh',
  'logout',
  'webauthnLoginVerify',
  'webauthnRegisterVerify',
  'loginWithGoogle',
  'linkGoogle',
  'createApiKey',
  // They hash a password, consume a mailed token or send a mail.
  'signUp',
  'verifyEmail',
  'resendVerification',
  // It takes a mailed token (read-only, but one per document, and never over GET).
  'inspectLink',
  'forgotPassword',
  'resetPassword',
  'changePassword',
  'verifyMfa',
  // They start or finish a federated sign-in (a row and an IdP call, or a one-time code).
  'ssoStart',
  'ssoExchange',
  'mfaTotpActivate',
  'mfaTotpDisable',
]);

type FragmentOf = (name: string) => FragmentDefinitionNode | undefined | null;

function countCredentialFields(fragmentOf: FragmentOf, set: SelectionSetNode, seen: Set<string>): number {
  let n = 0;
  for (const s of set.selections) {
    if (s.kind === Kind.FIELD) n += CREDENTIAL_FIELDS.has(s.name.value) ? 1 : 0;
    else if (s.kind === Kind.INLINE_FRAGMENT) n += countCredentialFields(fragmentOf, s.selectionSet, seen);
    else if (!seen.has(s.name.value)) {
      seen.add(s.name.value);
      const fragment = fragmentOf(s.name.value);
      if (fragment) n += countCredentialFields(fragmentOf, fragment.selectionSet, seen);
    }
  }
  return n;
}

export const oneCredentialFieldPerDocument: ValidationRule = (context) => ({
  OperationDefinition(node) {
    if (countCredentialFields((name) => context.getFragment(name), node.selectionSet, new Set()) > 1) {
      context.reportError(new GraphQLError('A document may hold at most one credential-checking field.', { nodes: [node] }));
    }
  },
});

/**
 * A credential-checking field is never run over GET: its token or password would ride in the
 * URL, into access logs and browser history (mutations are refused over GET by Apollo already;
 * this covers the queries that take a token, such as inspectLink).
 */
const credentialFieldsNeedPost: ApolloServerPlugin<RequestContext> = {
  async requestDidStart({ request }) {
    if (request.http?.method !== 'GET') return;
    return {
      async didResolveOperation({ operation, document }) {
        const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
        if (operation && countCredentialFields((name) => fragments.get(name), operation.selectionSet, new Set()) > 0) {
          // A document error (no field ran): HTTP 400, the catalog's code and remedy (server.ts).
          const refusal = new AuthError('auth_request_invalid', { fields: [{ field: 'query', rule: 'credential_in_query' }] });
          throw new GraphQLError(refusal.message, { originalError: refusal, extensions: { http: { status: 400 } } });
        }
      },
    };
  },
};

/** Apollo plugins and validation rules; limit errors never tell the thresholds. */
export function graphqlLimits(config: Pick<Config, 'graphqlLimits' | 'env'>) {
  const { maxAliases, maxDepth, maxTokens, maxCost } = config.graphqlLimits;
  const armor = new ApolloArmor({
    maxAliases: { n: maxAliases, exposeLimits: false },
    // Introspection (off in production) is exempt, or Sandbox's own schema query would be refused.
    maxDepth: { n: maxDepth, exposeLimits: false, flattenFragments: true },
    // Tokens are limited by graphql's own parser (parseOptions), so parse errors keep GRAPHQL_PARSE_FAILED.
    maxTokens: { enabled: false },
    costLimit: { maxCost, exposeLimits: false },
    maxDirectives: { n: 20, exposeLimits: false },
    blockFieldSuggestion: { enabled: config.env !== 'development' },
  }).protect();
  // graphql-armor is typed against Apollo's CommonJS build; the plugin objects are the same.
  const plugins = armor.plugins as unknown as ApolloServerPlugin<RequestContext>[];
  return { plugins: [...plugins, credentialFieldsNeedPost], validationRules: [...armor.validationRules, oneCredentialFieldPerDocument], parseOptions: { maxTokens } };
}
