import { randomUUID } from 'node:crypto';
import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/** A permission name such as `api_keys:create`; global, granted through tenant roles. */
@Entity({ tableName: 'permissions' })
export class Permission {
  [OptionalProps]?: 'id';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'text', unique: 'permissions_name_unique' })
  name!: string;
}
