import { randomUUID } from 'node:crypto';
import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

@Entity({ tableName: 'tenants' })
export class Tenant {
  [OptionalProps]?: 'id' | 'googleDomains' | 'defaultRoles' | 'createdAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'text', unique: 'tenants_slug_unique' })
  slug!: string;

  @Property({ type: 'text' })
  name!: string;

  /** E-mail domains (Google `hd`) whose accounts the tenant admits on first Google sign-in. */
  @Property({ type: 'text[]', columnType: 'text[]' })
  googleDomains: string[] = [];

  /** Role names given to users created on first Google sign-in. */
  @Property({ type: 'text[]', columnType: 'text[]' })
  defaultRoles: string[] = [];

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();
}
