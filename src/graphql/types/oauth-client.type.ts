import { Field, ID, InputType, ObjectType } from 'type-graphql';

@ObjectType({ description: "A client of the tenant's OpenID Provider (SPEC §12). Its secret is never returned after it is made: hasSecret says whether it has one." })
export class OAuthClient {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { description: 'The client_id the app presents.' })
  clientId!: string;

  @Field(() => String)
  name!: string;

  @Field(() => [String], { description: 'Matched exactly.' })
  redirectUris!: string[];

  @Field(() => [String])
  postLogoutRedirectUris!: string[];

  @Field(() => [String], { description: 'authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code.' })
  grantTypes!: string[];

  @Field(() => [String], { description: 'openid, email, profile, offline_access, and permissions of the tenant.' })
  scopes!: string[];

  @Field(() => [String], { description: 'Resource servers it may ask tokens for (RFC 8707).' })
  resources!: string[];

  @Field(() => Boolean, { description: 'A public client (no secret; PKCE alone).' })
  public!: boolean;

  @Field(() => Boolean, { description: 'The team\'s own app: no consent page.' })
  firstParty!: boolean;

  @Field(() => String, { nullable: true })
  jwksUri!: string | null;

  @Field(() => String, { description: 'How it authenticates at the token endpoint: client_secret_basic, client_secret_post, private_key_jwt (with its jwksUri), or none (a public client).' })
  tokenEndpointAuthMethod!: string;

  @Field(() => Boolean)
  hasSecret!: boolean;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}

@ObjectType({ description: 'A client just made, or given a new secret: the secret is shown this once.' })
export class CreatedOAuthClient {
  @Field(() => String)
  clientId!: string;

  @Field(() => String, { nullable: true, description: 'Null for a public client. Never returned again.' })
  clientSecret!: string | null;

  @Field(() => OAuthClient)
  client!: OAuthClient;
}

@InputType({ description: 'A whole client (an update replaces every field; its id and secret stay).' })
export class OAuthClientInput {
  @Field(() => String)
  name!: string;

  @Field(() => [String], { nullable: true })
  redirectUris?: string[] | null;

  @Field(() => [String], { nullable: true })
  postLogoutRedirectUris?: string[] | null;

  @Field(() => [String], { nullable: true, description: 'Default authorization_code and refresh_token.' })
  grantTypes?: string[] | null;

  @Field(() => [String], { nullable: true, description: 'Default openid, email, profile, offline_access; permissions only those the caller holds.' })
  scopes?: string[] | null;

  @Field(() => [String], { nullable: true })
  resources?: string[] | null;

  @Field(() => Boolean, { nullable: true })
  public?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  firstParty?: boolean | null;

  @Field(() => String, { nullable: true, description: 'Its keys for private_key_jwt.' })
  jwksUri?: string | null;

  @Field(() => String, { nullable: true, description: 'client_secret_basic (the default), client_secret_post, or private_key_jwt (the default with a jwksUri).' })
  tokenEndpointAuthMethod?: string | null;
}
