import { Field, ObjectType, registerEnumType } from 'type-graphql';

export enum LinkKind {
  VERIFY_EMAIL = 'verify_email',
  RESET_PASSWORD = 'reset_password',
  INVITATION = 'invitation',
}
registerEnumType(LinkKind, { name: 'LinkKind', description: 'What a mailed link does.' });

export enum LinkState {
  VALID = 'valid',
  EXPIRED = 'expired',
  USED = 'used',
  REVOKED = 'revoked',
  UNKNOWN = 'unknown',
}
registerEnumType(LinkState, {
  name: 'LinkState',
  description: 'Whether a mailed link works now. `unknown`: forged, or a verification or reset link already used or replaced by a newer mail (they cannot be told apart).',
});

@ObjectType({ description: 'The tenant a mailed link belongs to.' })
export class LinkTenant {
  @Field(() => String, { description: 'The tenant slug (what sign-in asks for).' })
  slug!: string;

  @Field(() => String)
  name!: string;
}

@ObjectType({ description: 'What a mailed link is, before anything is spent: its page shows it on open.' })
export class LinkInfo {
  @Field(() => LinkKind, { nullable: true, description: 'Null for an unknown link.' })
  kind!: LinkKind | null;

  @Field(() => LinkState)
  state!: LinkState;

  @Field(() => LinkTenant, { nullable: true, description: 'For a valid or expired link.' })
  tenant!: LinkTenant | null;

  @Field(() => String, { nullable: true, description: 'The address the link was mailed to: for a valid link only.' })
  email!: string | null;

  @Field(() => String, { nullable: true, description: "An invitation's inviter, as the mail named them: for a valid or expired invitation." })
  invitedBy!: string | null;

  @Field(() => [String], { description: "A valid invitation's roles." })
  roles!: string[];

  @Field(() => Date, { nullable: true, description: 'For a valid or expired link.' })
  expiresAt!: Date | null;
}
