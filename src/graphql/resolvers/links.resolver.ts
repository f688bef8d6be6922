import { Arg, Ctx, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../context.js';
import { inspectLink } from '../../services/links/inspect.js';
import { TokenInput } from '../types/account.input.js';
import { LinkInfo } from '../types/link-info.type.js';

@Resolver()
export class LinkResolver {
  @Query(() => LinkInfo, { description: "What a mailed link is and whether it works now, without spending it (a link page's first call). Refused over GET: the token stays out of URLs." })
  async inspectLink(@Arg('input', () => TokenInput) input: TokenInput, @Ctx() ctx: RequestContext) {
    return inspectLink(ctx.em, ctx.deps, input.token);
  }
}
