import type { User } from '../db/entities/user.entity.js';

export interface Grants {
  roles: string[];
  permissions: string[];
}

/** Role names and the union of their permissions, sorted; `user.roles.permissions` must be loaded. */
export function grantsOf(user: User): Grants {
  const roles = new Set<string>();
  const permissions = new Set<string>();
  for (const role of user.roles.getItems()) {
    roles.add(role.name);
    for (const p of role.permissions.getItems()) permissions.add(p.name);
  }
  return { roles: [...roles].sort(), permissions: [...permissions].sort() };
}
