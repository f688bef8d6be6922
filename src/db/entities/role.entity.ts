import { randomUUID } from 'node:crypto';
import { Collection, Entity, ManyToMany, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { Permission } from './permission.entity.js';
import { Tenant } from './tenant.entity.js';

@Entity({ tableName: 'roles' })
@Unique({ name: 'roles_tenant_name_unique', properties: ['tenant', 'name'] })
export class Role {
  [OptionalProps]?: 'id' | 'createdAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Tenant, { deleteRule: 'cascade' })
  tenant!: Tenant;

  @Property({ type: 'text' })
  name!: string;

  @ManyToMany(() => Permission, undefined, {
    pivotTable: 'role_permissions',
    joinColumn: 'role_id',
    inverseJoinColumn: 'permission_id',
  })
  permissions = new Collection<Permission>(this);

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date = new Date();
}
