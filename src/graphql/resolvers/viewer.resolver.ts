import { Authorized, Ctx, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../context.js';
import { Viewer } from '../types/viewer.type.js';

@Resolver()
export class ViewerResolver {
  @Authorized()
  @Query(() => Viewer, { description: 'The caller behind the bearer access token.' })
  me(@Ctx() ctx: RequestContext) {
    return ctx.viewer();
  }
}
