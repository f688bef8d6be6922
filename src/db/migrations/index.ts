import { Migration20261125000000Initial } from './Migration20261125000000Initial.js';

// Listed explicitly (no glob) so the same list works from TypeScript sources under
// vitest and from compiled JavaScript under node.
export const migrationsList = [{ name: 'Migration20261125000000Initial', class: Migration20261125000000Initial }];
