import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: "A tenant's webhook endpoint (SPEC §13). Its secret is never returned after it is made." })
export class WebhookEndpoint {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  url!: string;

  @Field(() => [String], { description: "The events it receives ('*': all)." })
  events!: string[];

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => Boolean, { description: 'Disabled after its deliveries failed for WEBHOOK_DISABLE_AFTER; an update enables it again.' })
  disabled!: boolean;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}

@ObjectType({ description: 'An endpoint just made, or given a new secret: the secret (whsec_...) is shown this once.' })
export class CreatedWebhookEndpoint {
  @Field(() => WebhookEndpoint)
  endpoint!: WebhookEndpoint;

  @Field(() => String)
  secret!: string;
}

@InputType({ description: 'A whole endpoint (an update replaces every field; its secret stays).' })
export class WebhookEndpointInput {
  @Field(() => String, { description: 'In production https:// resolving to public addresses only.' })
  url!: string;

  @Field(() => [String], { nullable: true, description: "Default ['*']: every event." })
  events?: string[] | null;

  @Field(() => String, { nullable: true })
  description?: string | null;
}

@ObjectType({ description: 'One delivery attempt of a message.' })
export class WebhookDelivery {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { description: "The message's webhook-id (the same on every attempt); redeliverWebhook takes it." })
  messageId!: string;

  @Field(() => String)
  eventType!: string;

  @Field(() => Date)
  attemptedAt!: Date;

  @Field(() => Int, { nullable: true, description: 'The HTTP status; null when no answer came (a timeout, a refused connection).' })
  statusCode!: number | null;

  @Field(() => Int)
  durationMs!: number;

  @Field(() => String, { nullable: true })
  error!: string | null;
}
