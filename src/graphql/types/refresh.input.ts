import { Field, InputType } from 'type-graphql';

@InputType()
export class RefreshInput {
  @Field(() => String)
  refreshToken!: string;
}
