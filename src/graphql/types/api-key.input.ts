import { Field, InputType, Int } from 'type-graphql';
import { TextField, TextListField } from '../text-field.js';

@InputType()
export class CreateApiKeyInput {
  @TextField('apiKeyName')
  name!: string;

  @TextListField('scope', { nullable: true, description: 'Default: all of the creator\'s permissions; never more.' })
  scopes?: string[] | null;

  @Field(() => Int, { nullable: true, description: 'Default: no expiry.' })
  expiresInDays?: number | null;
}
