import { Field, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A pending TOTP factor: shown once; it counts after its first code (mfaTotpActivate).' })
export class TotpEnrollment {
  @Field(() => String, { description: 'The base32 secret, for typing into an authenticator app.' })
  secret!: string;

  @Field(() => String, { description: 'The otpauth:// URI (a QR code of it is what apps scan).' })
  otpauthUri!: string;
}

@ObjectType({ description: 'Ten single-use recovery codes, shown once; new ones void the old set.' })
export class RecoveryCodes {
  @Field(() => [String])
  recoveryCodes!: string[];
}
