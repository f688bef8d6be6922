import { Field, ID, ObjectType } from 'type-graphql';

@ObjectType({ description: 'An external account (Google) linked to the user.' })
export class LinkedIdentity {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { description: 'Always "google" for now.' })
  provider!: string;

  @Field(() => String, { description: 'The provider\'s stable account id (`sub`).' })
  subject!: string;

  @Field(() => String, { description: 'The account\'s e-mail when it was linked.' })
  email!: string;

  @Field(() => Date)
  createdAt!: Date;
}
