import { InputType } from 'type-graphql';
import { TextField } from '../text-field.js';

@InputType()
export class RefreshInput {
  @TextField('refreshToken')
  refreshToken!: string;
}
