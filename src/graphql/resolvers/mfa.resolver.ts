import { Arg, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import type { RequestContext } from '../../context.js';
import { activateTotp, disableTotp, enrollTotp, regenerateRecoveryCodes } from '../../services/mfa/factors.js';
import { verifyMfa } from '../../services/mfa/second-step.js';
import { textArg } from '../text-field.js';
import { AuthPayload } from '../types/auth-payload.type.js';
import { MfaVerifyInput } from '../types/mfa.input.js';
import { RecoveryCodes, TotpEnrollment } from '../types/mfa.type.js';

@Resolver()
export class MfaResolver {
  @Authorized()
  @Mutation(() => TotpEnrollment, { description: 'Start TOTP enrolment (access token, recent authentication).' })
  async mfaTotpEnroll(@Ctx() ctx: RequestContext) {
    return enrollTotp(ctx.em, ctx.deps, await ctx.viewer());
  }

  @Authorized()
  @Mutation(() => RecoveryCodes, { description: 'Activate the pending TOTP factor with its first code; answers the recovery codes.' })
  async mfaTotpActivate(@Arg('code', () => String, textArg('mfaCode')) code: string, @Ctx() ctx: RequestContext) {
    return activateTotp(ctx.em, ctx.deps, await ctx.viewer(), code, ctx.client);
  }

  @Mutation(() => AuthPayload, { description: 'The second step of a sign-in: the mfa token and a TOTP or recovery code.' })
  verifyMfa(@Arg('input', () => MfaVerifyInput) input: MfaVerifyInput, @Ctx() ctx: RequestContext) {
    return verifyMfa(ctx.em, ctx.deps, input, ctx.client);
  }

  @Authorized()
  @Mutation(() => RecoveryCodes, { description: 'New recovery codes (the old set stops working).' })
  async mfaRecoveryCodes(@Ctx() ctx: RequestContext) {
    return regenerateRecoveryCodes(ctx.em, ctx.deps, await ctx.viewer());
  }

  @Authorized()
  @Mutation(() => Boolean, { description: 'Disable TOTP (recent authentication and a current code).' })
  async mfaTotpDisable(@Arg('code', () => String, textArg('mfaCode')) code: string, @Ctx() ctx: RequestContext) {
    await disableTotp(ctx.em, ctx.deps, await ctx.viewer(), code, ctx.client);
    return true;
  }
}
