import { InputType } from 'type-graphql';
import { TextField } from '../text-field.js';

@InputType()
export class GoogleLoginInput {
  @TextField('tenant', { description: 'The tenant slug.' })
  tenant!: string;

  @TextField('idToken', { description: 'The Google ID token (Google Identity Services calls it `credential`).' })
  idToken!: string;
}

@InputType()
export class GoogleLinkInput {
  @TextField('idToken', { description: 'A Google ID token of the account to link to the signed-in user.' })
  idToken!: string;
}
