import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';

export enum SsoConnectionType {
  OIDC = 'oidc',
  SAML = 'saml',
}
registerEnumType(SsoConnectionType, { name: 'SsoConnectionType', description: 'OpenID Connect or SAML 2.0.' });

@ObjectType({ description: "A domain routed to a connection; it links users and enforces SSO only once verified (the operator's, or a DNS TXT record)." })
export class SsoDomain {
  @Field(() => String)
  domain!: string;

  @Field(() => Boolean)
  verified!: boolean;

  @Field(() => Date, { nullable: true })
  verifiedAt!: Date | null;

  @Field(() => String, { description: 'The DNS TXT record that verifies it: it holds the value of ssoDomainVerification.' })
  verificationRecord!: string;
}

@ObjectType({ description: "What verifies a tenant's domains: a TXT record `_auth-gateway-verify.<domain>` holding `value`, then verifySsoDomain." })
export class SsoDomainVerification {
  @Field(() => String)
  recordPrefix!: string;

  @Field(() => String)
  value!: string;
}

@ObjectType({ description: 'An identity provider of the tenant (SPEC §11). The client secret is never returned: hasClientSecret says whether one is stored.' })
export class SsoConnection {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => SsoConnectionType)
  type!: SsoConnectionType;

  @Field(() => [SsoDomain])
  domains!: SsoDomain[];

  @Field(() => Boolean, { description: 'Password, passkey and Google sign-in, sign-up and reset of the verified domains answer auth_sso_required.' })
  enforce!: boolean;

  @Field(() => Boolean, { description: 'A first sign-in of an unknown address creates the user.' })
  jit!: boolean;

  @Field(() => [String])
  defaultRoles!: string[];

  @Field(() => String, { nullable: true, description: 'The OIDC claim or SAML attribute that roleMap reads.' })
  roleClaim!: string | null;

  @Field(() => GraphQLJSONObject, { description: 'Claim or attribute value → role names.' })
  roleMap!: Record<string, string[]>;

  @Field(() => String, { nullable: true, description: 'OIDC.' })
  issuer!: string | null;

  @Field(() => String, { nullable: true, description: 'OIDC.' })
  clientId!: string | null;

  @Field(() => [String], { description: 'OIDC (empty for SAML).' })
  scopes!: string[];

  @Field(() => Boolean, { description: 'OIDC: the IdP owns the domains, so its addresses count as verified without email_verified.' })
  trustEmail!: boolean;

  @Field(() => Boolean)
  hasClientSecret!: boolean;

  @Field(() => String, { nullable: true, description: 'SAML.' })
  idpEntityId!: string | null;

  @Field(() => String, { nullable: true, description: 'SAML.' })
  idpSsoUrl!: string | null;

  @Field(() => String, { nullable: true, description: 'SAML: the IdP signing certificate (PEM).' })
  idpCertificate!: string | null;

  @Field(() => Boolean, { description: 'SAML.' })
  allowIdpInitiated!: boolean;

  @Field(() => [String], { description: 'SAML: AuthnContextClassRef values that count as multi-factor.' })
  mfaContexts!: string[];

  @Field(() => Boolean, { description: 'SAML: AuthnRequests are signed with a key the gateway keeps (its certificate is in the SP metadata).' })
  signRequests!: boolean;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}

@InputType({ description: 'A whole connection (an update replaces every field; without clientSecret the stored one stays).' })
export class SsoConnectionInput {
  @Field(() => String)
  name!: string;

  @Field(() => SsoConnectionType)
  type!: SsoConnectionType;

  @Field(() => [String], { nullable: true, description: 'Unverified until the operator verifies them.' })
  domains?: string[] | null;

  @Field(() => Boolean, { nullable: true })
  enforce?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  jit?: boolean | null;

  @Field(() => [String], { nullable: true, description: "Roles whose permissions the editor holds." })
  defaultRoles?: string[] | null;

  @Field(() => String, { nullable: true })
  roleClaim?: string | null;

  @Field(() => GraphQLJSONObject, { nullable: true, description: "Value → role names whose permissions the editor holds." })
  roleMap?: Record<string, unknown> | null;

  @Field(() => String, { nullable: true })
  issuer?: string | null;

  @Field(() => String, { nullable: true })
  clientId?: string | null;

  @Field(() => String, { nullable: true, description: 'Sealed at rest, never returned.' })
  clientSecret?: string | null;

  @Field(() => [String], { nullable: true, description: 'Default openid, email, profile; must include openid.' })
  scopes?: string[] | null;

  @Field(() => Boolean, { nullable: true })
  trustEmail?: boolean | null;

  @Field(() => String, { nullable: true, description: "SAML: the IdP's metadata (EntityDescriptor); fills idpEntityId, idpSsoUrl and idpCertificate where they are not given." })
  idpMetadata?: string | null;

  @Field(() => String, { nullable: true })
  idpEntityId?: string | null;

  @Field(() => String, { nullable: true })
  idpSsoUrl?: string | null;

  @Field(() => String, { nullable: true })
  idpCertificate?: string | null;

  @Field(() => Boolean, { nullable: true })
  allowIdpInitiated?: boolean | null;

  @Field(() => [String], { nullable: true })
  mfaContexts?: string[] | null;

  @Field(() => Boolean, { nullable: true })
  signRequests?: boolean | null;
}
