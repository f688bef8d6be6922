import { Field, ObjectType } from 'type-graphql';
import { ApiKeyInfo } from './api-key.type.js';

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

  @Field(() => [ApiKeyInfo], {
    description: 'The caller\'s live API keys made before the second factor was activated: they work without a second step. Revoke any you did not make with revokeApiKeys.',
  })
  apiKeysBeforeFactor!: ApiKeyInfo[];
}
