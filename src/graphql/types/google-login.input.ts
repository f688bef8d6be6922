import { Field, InputType } from 'type-graphql';

@InputType()
export class GoogleLoginInput {
  @Field(() => String, { description: 'The tenant slug.' })
  tenant!: string;

  @Field(() => String, { description: 'The Google ID token (Google Identity Services calls it `credential`).' })
  idToken!: string;
}
