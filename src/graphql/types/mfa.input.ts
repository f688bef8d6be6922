import { InputType } from 'type-graphql';
import { TextField } from '../text-field.js';

@InputType({ description: 'The second step of a sign-in: the mfa token of auth_mfa_required and one code (TOTP or recovery).' })
export class MfaVerifyInput {
  @TextField('mailedToken', { description: 'extensions.mfaToken of the auth_mfa_required error.' })
  mfaToken!: string;

  @TextField('mfaCode', { nullable: true, description: 'The current TOTP code.' })
  code?: string | null;

  @TextField('mfaCode', { nullable: true, description: 'Or one of the recovery codes.' })
  recoveryCode?: string | null;
}
