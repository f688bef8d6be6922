import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../context.js';
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
  redeliverWebhook,
  rotateWebhookSecret,
  updateWebhookEndpoint,
} from '../../services/webhooks/endpoints.js';
import { textArg } from '../text-field.js';
import { CreatedWebhookEndpoint, WebhookDelivery, WebhookEndpoint, WebhookEndpointInput } from '../types/webhook.type.js';

const input = (i: WebhookEndpointInput) => ({ url: i.url, events: i.events, description: i.description });

@Resolver()
export class WebhookResolver {
  @Authorized('webhooks:manage')
  @Query(() => [WebhookEndpoint], { description: "The tenant's webhook endpoints (webhooks:manage). Secrets are never returned." })
  async webhookEndpoints(@Ctx() ctx: RequestContext) {
    return listWebhookEndpoints(ctx.em, await ctx.viewer());
  }

  @Authorized('webhooks:manage')
  @Mutation(() => CreatedWebhookEndpoint, { description: 'Add an endpoint (webhooks:manage); its secret is in the answer, once.' })
  async createWebhookEndpoint(@Arg('input', () => WebhookEndpointInput) i: WebhookEndpointInput, @Ctx() ctx: RequestContext) {
    return createWebhookEndpoint(ctx.em, ctx.deps, await ctx.viewer(), input(i), ctx.client);
  }

  @Authorized('webhooks:manage')
  @Mutation(() => WebhookEndpoint, { description: "Replace an endpoint's URL, events and description (webhooks:manage); a disabled one is enabled again." })
  async updateWebhookEndpoint(@Arg('id', () => ID, textArg('id')) id: string, @Arg('input', () => WebhookEndpointInput) i: WebhookEndpointInput, @Ctx() ctx: RequestContext) {
    return updateWebhookEndpoint(ctx.em, ctx.deps, await ctx.viewer(), id, input(i), ctx.client);
  }

  @Authorized('webhooks:manage')
  @Mutation(() => CreatedWebhookEndpoint, { description: 'A new secret, in the answer once; for 24 h the old one signs too (webhooks:manage).' })
  async rotateWebhookSecret(@Arg('id', () => ID, textArg('id')) id: string, @Ctx() ctx: RequestContext) {
    return rotateWebhookSecret(ctx.em, ctx.deps, await ctx.viewer(), id, ctx.client);
  }

  @Authorized('webhooks:manage')
  @Mutation(() => Boolean, { description: 'Delete an endpoint and what waits for it (webhooks:manage).' })
  async deleteWebhookEndpoint(@Arg('id', () => ID, textArg('id')) id: string, @Ctx() ctx: RequestContext) {
    await deleteWebhookEndpoint(ctx.em, ctx.deps, await ctx.viewer(), id, ctx.client);
    return true;
  }

  @Authorized('webhooks:manage')
  @Query(() => [WebhookDelivery], { description: "An endpoint's delivery attempts, newest first: `first` of them after the attempt `after` (webhooks:manage)." })
  async webhookDeliveries(
    @Arg('endpointId', () => ID, textArg('id')) endpointId: string,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('after', () => String, { nullable: true, ...textArg('cursor') }) after: string | null,
    @Ctx() ctx: RequestContext,
  ) {
    return listWebhookDeliveries(ctx.em, await ctx.viewer(), endpointId, first ?? 50, after);
  }

  @Authorized('webhooks:manage')
  @Mutation(() => Boolean, { description: "Send a message again, its webhook-id unchanged (webhooks:manage)." })
  async redeliverWebhook(@Arg('messageId', () => String, textArg('id')) messageId: string, @Ctx() ctx: RequestContext) {
    await redeliverWebhook(ctx.em, ctx.deps, await ctx.viewer(), messageId, ctx.client);
    return true;
  }
}
