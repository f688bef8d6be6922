import { Field, ID, ObjectType } from 'type-graphql';

@ObjectType({ description: "What the user granted a client of their tenant's OpenID Provider (SPEC §12)." })
export class OAuthGrant {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  clientId!: string;

  @Field(() => String)
  clientName!: string;

  @Field(() => [String])
  scopes!: string[];

  @Field(() => Date)
  createdAt!: Date;
}
