import { Field, InputType } from 'type-graphql';

@InputType()
export class LoginInput {
  @Field(() => String, { description: 'The tenant slug.' })
  tenant!: string;

  @Field(() => String)
  email!: string;

  @Field(() => String)
  password!: string;
}
