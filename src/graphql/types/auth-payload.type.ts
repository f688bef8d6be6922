import { Field, Int, ObjectType } from 'type-graphql';
import { Viewer } from './viewer.type.js';

@ObjectType({ description: 'Tokens answered by every successful sign-in and refresh.' })
export class AuthPayload {
  @Field(() => String, { description: 'A short-lived JWT (typ at+jwt).' })
  accessToken!: string;

  @Field(() => String, { description: 'Always "bearer".' })
  tokenType!: string;

  @Field(() => Int, { description: 'Seconds until the access token expires.' })
  expiresIn!: number;

  @Field(() => String, { description: 'Opaque; rotated on every use.' })
  refreshToken!: string;

  @Field(() => Int)
  refreshExpiresIn!: number;

  @Field(() => Viewer)
  user!: Viewer;
}
