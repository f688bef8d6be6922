import { Field, InputType, ObjectType } from 'type-graphql';
import { TextField } from '../text-field.js';

@InputType({ description: "Start a sign-in through a tenant's identity provider (SPEC §11): by the e-mail's domain or the connection's name, with an S256 PKCE challenge." })
export class SsoStartInput {
  @TextField('tenant', { description: 'The tenant slug.' })
  tenant!: string;

  @TextField('email', { nullable: true, description: 'Routes by its domain (and is the login hint).' })
  email?: string | null;

  @TextField('connectionName', { nullable: true, description: "The connection's name, instead of an e-mail." })
  connection?: string | null;

  @TextField('redirectUrl', { description: "One of the tenant's redirect_urls (its query is kept)." })
  redirectTo!: string;

  @TextField('pkce', { description: 'base64url(SHA-256(code_verifier)).' })
  codeChallenge!: string;

  @TextField('pkce', { description: 'S256.' })
  codeChallengeMethod!: string;
}

@ObjectType({ description: "Where to send the browser: the identity provider's authorization URL." })
export class SsoRedirect {
  @Field(() => String)
  url!: string;
}

@InputType({ description: 'The one-time code the flow handed the app, and the PKCE verifier of its challenge.' })
export class SsoExchangeInput {
  @TextField('ssoCode')
  code!: string;

  @TextField('pkce')
  codeVerifier!: string;
}
