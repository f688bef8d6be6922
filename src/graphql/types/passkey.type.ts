import { Field, ID, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A registered passkey (WebAuthn credential) of the caller.' })
export class Passkey {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  lastUsedAt!: Date | null;

  @Field(() => String, { description: 'singleDevice or multiDevice' })
  deviceType!: string;

  @Field(() => Boolean)
  backedUp!: boolean;

  @Field(() => [String])
  transports!: string[];
}
