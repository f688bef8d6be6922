import { Migration20261125000000Initial } from './Migration20261125000000Initial.js';
import { Migration20261125010000Sessions } from './Migration20261125010000Sessions.js';
import { Migration20261125020000Webauthn } from './Migration20261125020000Webauthn.js';
import { Migration20261125030000ExternalIdentities } from './Migration20261125030000ExternalIdentities.js';
import { Migration20261125040000ApiKeys } from './Migration20261125040000ApiKeys.js';
import { Migration20261125050000RateLimits } from './Migration20261125050000RateLimits.js';
import { Migration20261201000000Security } from './Migration20261201000000Security.js';
import { Migration20261201000100Purge } from './Migration20261201000100Purge.js';
import { Migration20261202000000Accounts } from './Migration20261202000000Accounts.js';
import { Migration20261203000000Mfa } from './Migration20261203000000Mfa.js';
import { Migration20261204000000Management } from './Migration20261204000000Management.js';
import { Migration20261205000000Invitations } from './Migration20261205000000Invitations.js';
import { Migration20261206000000UnloggedLimits } from './Migration20261206000000UnloggedLimits.js';
import { Migration20261207000000Bounds } from './Migration20261207000000Bounds.js';
import { Migration20261207010000ContestedSignups } from './Migration20261207010000ContestedSignups.js';
import { Migration20261207020000SsoConnections } from './Migration20261207020000SsoConnections.js';
import { Migration20261207030000SsoFlows } from './Migration20261207030000SsoFlows.js';
import { Migration20261207040000SamlFlows } from './Migration20261207040000SamlFlows.js';
import { Migration20261207050000OAuthClients } from './Migration20261207050000OAuthClients.js';
import { Migration20261207080000Webhooks } from './Migration20261207080000Webhooks.js';
import { Migration20261207070000OpClientAuth } from './Migration20261207070000OpClientAuth.js';
import { Migration20261207060000OidcSessionLinks } from './Migration20261207060000OidcSessionLinks.js';

// Listed explicitly (no glob) so the same list works from TypeScript sources under
// vitest and from compiled JavaScript under node. Append only.
export const migrationsList = [
  { name: 'Migration20261125000000Initial', class: Migration20261125000000Initial },
  { name: 'Migration20261125010000Sessions', class: Migration20261125010000Sessions },
  { name: 'Migration20261125020000Webauthn', class: Migration20261125020000Webauthn },
  { name: 'Migration20261125030000ExternalIdentities', class: Migration20261125030000ExternalIdentities },
  { name: 'Migration20261125040000ApiKeys', class: Migration20261125040000ApiKeys },
  { name: 'Migration20261125050000RateLimits', class: Migration20261125050000RateLimits },
  { name: 'Migration20261201000000Security', class: Migration20261201000000Security },
  { name: 'Migration20261201000100Purge', class: Migration20261201000100Purge },
  { name: 'Migration20261202000000Accounts', class: Migration20261202000000Accounts },
  { name: 'Migration20261203000000Mfa', class: Migration20261203000000Mfa },
  { name: 'Migration20261204000000Management', class: Migration20261204000000Management },
  { name: 'Migration20261205000000Invitations', class: Migration20261205000000Invitations },
  { name: 'Migration20261206000000UnloggedLimits', class: Migration20261206000000UnloggedLimits },
  { name: 'Migration20261207000000Bounds', class: Migration20261207000000Bounds },
  { name: 'Migration20261207010000ContestedSignups', class: Migration20261207010000ContestedSignups },
  { name: 'Migration20261207020000SsoConnections', class: Migration20261207020000SsoConnections },
  { name: 'Migration20261207030000SsoFlows', class: Migration20261207030000SsoFlows },
  { name: 'Migration20261207040000SamlFlows', class: Migration20261207040000SamlFlows },
  { name: 'Migration20261207050000OAuthClients', class: Migration20261207050000OAuthClients },
  { name: 'Migration20261207060000OidcSessionLinks', class: Migration20261207060000OidcSessionLinks },
  { name: 'Migration20261207070000OpClientAuth', class: Migration20261207070000OpClientAuth },
  { name: 'Migration20261207080000Webhooks', class: Migration20261207080000Webhooks },
];
