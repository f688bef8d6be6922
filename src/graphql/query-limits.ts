// GraphQL abuse limits: graphql-armor (aliases, depth, tokens, cost, field suggestions) and
// one rule of ours: a document may hold at most one credential-checking field, so an
// aliased batch of 50 logins costs no password hash at all (it never runs).
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { GraphQLError, Kind, type SelectionSetNode, type ValidationContext, type ValidationRule } from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import type { Config } from '../config.js';
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
  'forgotPassword',
  'resetPassword',
  'changePassword',
  'verifyMfa',
  'mfaTotpActivate',
  'mfaTotpDisable',
]);

function countCredentialFields(context: ValidationContext, set: SelectionSetNode, seen: Set<string>): number {
  let n = 0;
  for (const s of set.selections) {
    if (s.kind === Kind.FIELD) n += CREDENTIAL_FIELDS.has(s.name.value) ? 1 : 0;
    else if (s.kind === Kind.INLINE_FRAGMENT) n += countCredentialFields(context, s.selectionSet, seen);
    else if (!seen.has(s.name.value)) {
      seen.add(s.name.value);
      const fragment = context.getFragment(s.name.value);
      if (fragment) n += countCredentialFields(context, fragment.selectionSet, seen);
    }
  }
  return n;
}

export const oneCredentialFieldPerDocument: ValidationRule = (context) => ({
  OperationDefinition(node) {
    if (countCredentialFields(context, node.selectionSet, new Set()) > 1) {
      context.reportError(new GraphQLError('A document may hold at most one credential-checking field.', { nodes: [node] }));
    }
  },
});

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
  return { plugins, validationRules: [...armor.validationRules, oneCredentialFieldPerDocument], parseOptions: { maxTokens } };
}
