import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { GraphQLJSONObject } from 'graphql-scalars';
import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../context.js';
import { AuthError } from '../../errors/auth-error.js';
import { registrationOptions, verifyRegistration } from '../../services/passkeys/registration.js';
import { loginOptions, verifyLogin } from '../../services/passkeys/login.js';
import { deletePasskey, listPasskeys } from '../../services/passkeys/manage.js';
import { textArg } from '../text-field.js';
import { AuthPayload } from '../types/auth-payload.type.js';
import { WebauthnLoginOptionsInput, WebauthnLoginVerifyInput, WebauthnRegisterVerifyInput } from '../types/passkey.input.js';
import { Passkey } from '../types/passkey.type.js';

@Resolver()
export class PasskeyResolver {
  @Authorized()
  @Mutation(() => GraphQLJSONObject, { description: 'PublicKeyCredentialCreationOptionsJSON for registering a passkey.' })
  async webauthnRegisterOptions(@Ctx() ctx: RequestContext) {
    return registrationOptions(ctx.em, ctx.deps, await ctx.viewer(), ctx.client);
  }

  @Authorized()
  @Mutation(() => Passkey, { description: 'Verify a RegistrationResponseJSON and store the passkey: `input`, or the deprecated `response` and `name`.' })
  async webauthnRegisterVerify(
    @Arg('input', () => WebauthnRegisterVerifyInput, { nullable: true }) input: WebauthnRegisterVerifyInput | undefined,
    @Arg('response', () => GraphQLJSONObject, { nullable: true, deprecationReason: 'Use input.response.' }) response: Record<string, unknown> | undefined,
    @Arg('name', () => String, textArg('passkeyName', { nullable: true, deprecationReason: 'Use input.name.' })) name: string | undefined,
    @Ctx() ctx: RequestContext,
  ) {
    // Exactly one way of passing the response: the input object, or the old arguments.
    const registration = input ?? (response ? { response, name } : undefined);
    if (!registration || (input && (response || name))) throw new AuthError('auth_request_invalid', { fields: [registration ? { field: 'response', rule: 'format' } : { field: 'input.response', rule: 'required' }] });
    const viewer = await ctx.viewer();
    return verifyRegistration(ctx.em, ctx.deps, viewer, registration.response as unknown as RegistrationResponseJSON, registration.name ?? undefined, ctx.client);
  }

  @Mutation(() => GraphQLJSONObject, { description: 'PublicKeyCredentialRequestOptionsJSON for a passkey login.' })
  webauthnLoginOptions(@Arg('input', () => WebauthnLoginOptionsInput) input: WebauthnLoginOptionsInput, @Ctx() ctx: RequestContext) {
    return loginOptions(ctx.em, ctx.deps, input, ctx.client);
  }

  @Mutation(() => AuthPayload, { description: 'Passkey login: verify an AuthenticationResponseJSON.' })
  webauthnLoginVerify(@Arg('input', () => WebauthnLoginVerifyInput) input: WebauthnLoginVerifyInput, @Ctx() ctx: RequestContext) {
    return verifyLogin(ctx.em, ctx.deps, { tenant: input.tenant, response: input.response as unknown as AuthenticationResponseJSON }, ctx.client);
  }

  @Authorized()
  @Query(() => [Passkey], { description: 'The caller\'s passkeys.' })
  async passkeys(@Ctx() ctx: RequestContext) {
    return listPasskeys(ctx.em, await ctx.viewer());
  }

  @Authorized()
  @Mutation(() => Boolean, { description: 'Delete one of the caller\'s passkeys.' })
  async deletePasskey(@Arg('id', () => ID, textArg('id')) id: string, @Ctx() ctx: RequestContext) {
    await deletePasskey(ctx.em, await ctx.viewer(), id, ctx.deps.now());
    return true;
  }
}
