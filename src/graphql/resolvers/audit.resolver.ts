import { Arg, Authorized, Ctx, Int, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../context.js';
import { listAuditEvents } from '../../services/audit/events.js';
import { textArg } from '../text-field.js';
import { AuditFilter } from '../types/audit-filter.input.js';
import { AuditEventConnection } from '../types/audit-event.type.js';

@Resolver()
export class AuditResolver {
  @Authorized('audit:read')
  @Query(() => AuditEventConnection, { description: 'The tenant\'s audit log, newest first (audit:read).' })
  async auditEvents(
    @Arg('first', () => Int, { nullable: true, description: 'Page size, 1 to 100 (default 20).' }) first: number | undefined,
    @Arg('after', () => String, textArg('cursor', { nullable: true })) after: string | undefined,
    @Arg('filter', () => AuditFilter, { nullable: true }) filter: AuditFilter | undefined,
    @Ctx() ctx: RequestContext,
  ) {
    return listAuditEvents(ctx.em, await ctx.viewer(), { first, after, filter });
  }
}
