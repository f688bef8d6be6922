// The OpenID Provider's hosted pages (SPEC §12): sign-in, the second step, consent, and errors.
// Served by the gateway with no third-party assets; no script but the sign-in's passkey one (same
// origin); each form posts with a submit button, and the inputs keep SPEC §12's names (email,
// password, code, decision).
import type { ErrorCode } from '../../errors/catalog.js';
import { USER_WORDS } from '../../demo/words.js';
import { BASE_STYLE, htmlDocument } from './style.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');



/** The security headers of every page: no script, no frames, nothing from elsewhere. */
export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
};

/**
 * What oidc-provider writes itself (response_mode=form_post, the device and logout forms, its
 * errors): its inline form_post script is allowed by the hash it adds to script-src, and its
 * forms may post to a client's registered redirect URI (no form-action).
 */
export const PROVIDER_CSP = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

/** The sign-in page's: its passkey script and the options it fetches are this origin's, nothing else. */
export const SIGN_IN_HEADERS = {
  ...PAGE_HEADERS,
  'content-security-policy': "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
};

function page(title: string, tenantName: string, body: string): string {
  return htmlDocument({ title: `${esc(title)} · ${esc(tenantName)}`, style: `<style>${BASE_STYLE}</style>`, body: `<main><h1>${esc(title)}</h1>${body}</main>` });
}

/** A refusal said in words, with its catalog code small after it. */
const problem = (code?: ErrorCode) => (code ? `<p class="error" role="alert">${esc(USER_WORDS[code] ?? 'That did not work.')} <span class="code">(${code})</span></p>` : '');

/** Where the sign-in's passkey goes: its form's action, the tenant, the options URL, and the base of the gateway's /assets. */
export interface PasskeySignIn {
  action: string;
  tenant: string;
  optionsUrl: string;
  assets: string;
}

export function signInPage(o: { action: string; tenantName: string; clientName: string; email?: string; error?: ErrorCode; passkey?: PasskeySignIn; sso?: boolean; google?: string }): string {
  const pk = o.passkey;
  // Shown by its script where the browser has passkeys; the e-mail field offers them in its autofill (conditional UI).
  const passkey = pk
    ? `<form id="passkey-form" method="post" action="${esc(pk.action)}" data-tenant="${esc(pk.tenant)}" data-options="${esc(pk.optionsUrl)}"><input type="hidden" name="response" value="">
<button type="submit" id="passkey" class="secondary wide" hidden>Sign in with a passkey</button><p id="passkey-problem" class="note" role="status"></p></form>
<script src="${esc(pk.assets)}/simplewebauthn-browser.js"></script><script src="${esc(pk.assets)}/sign-in.js"></script>`
    : '';
  return page(
    'Sign in',
    o.tenantName,
    `<p>to continue to <strong>${esc(o.clientName)}</strong></p>${problem(o.error)}
<form method="post" action="${esc(o.action)}">
<label for="email">E-mail</label><input id="email" name="email" type="email" autocomplete="username${pk ? ' webauthn' : ''}" required value="${esc(o.email ?? '')}"${o.email ? '' : ' autofocus'}>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required${o.email ? ' autofocus' : ''}>
<button type="submit">Sign in</button>${o.sso ? '<button type="submit" name="sso" value="yes" formnovalidate class="secondary">Sign in with your organisation (SSO)</button>' : ''}</form>${
      o.google ? `<form method="post" action="${esc(o.google)}"><button type="submit" class="secondary wide">Sign in with Google</button></form>` : ''
    }${passkey}`,
  );
}

export function secondStepPage(o: { action: string; tenantName: string; mfaToken: string; error?: ErrorCode }): string {
  return page(
    'Second step',
    o.tenantName,
    `<p>Enter the 6-digit code from your authenticator app.</p>${problem(o.error)}
<form method="post" action="${esc(o.action)}"><input type="hidden" name="mfa_token" value="${esc(o.mfaToken)}">
<label for="code">Code</label><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" required autofocus>
<button type="submit">Continue</button></form>`,
  );
}

/** What a scope lets an app do, in words. */
const SCOPE_WORDS: Record<string, string> = {
  openid: 'know who you are in this organisation (your account, tenant and roles)',
  email: 'see your e-mail address',
  profile: 'see your profile',
  offline_access: 'stay signed in when you are not using it',
};

export function consentPage(o: { action: string; tenantName: string; clientName: string; scopes: string[] }): string {
  const items = o.scopes.map((s) => `<li>${esc(SCOPE_WORDS[s] ?? `use the permission ${s}`)}</li>`).join('');
  return page(
    'Allow access?',
    o.tenantName,
    `<p><strong>${esc(o.clientName)}</strong> asks to:</p><ul>${items}</ul>
<form method="post" action="${esc(o.action)}"><button type="submit" name="decision" value="allow">Allow</button><button type="submit" name="decision" value="deny" class="secondary">Deny</button></form>`,
  );
}

/** Where Google sends the browser back: its script posts the ID token on (GOOGLE_RETURN_JS); nothing without script. */
export const googleReturnPage = (assets: string) =>
  page(
    'Signing you in',
    'Google',
    `<p id="words">One moment…</p><noscript><p>This step needs JavaScript. Go back to the app and sign in another way.</p></noscript>
<form id="google-return" method="post" action=""><input type="hidden" name="id_token" value=""></form><script src="${esc(assets)}/google-return.js"></script>`,
  );

export function errorPage(o: { tenantName: string; title: string; words: string; code?: string }): string {
  return page(o.title, o.tenantName, `<p>${esc(o.words)}${o.code ? ` <span class="code">(${esc(o.code)})</span>` : ''}</p>`);
}

/** What the provider's own errors mean to a person (the rest say the request cannot go on). */
const OAUTH_WORDS: Record<string, string> = {
  invalid_client: 'The app that sent you here is not known to this organisation.',
  invalid_redirect_uri: 'The app asked to send you to an address it has not registered, so you are not sent anywhere.',
  invalid_request: 'The app sent a request that cannot be used.',
};

/** The provider's error page for an error it answers itself, never raw JSON. */
export const providerErrorPage = (slug: string, out: { error: string; error_description?: string }) => ({
  headers: PAGE_HEADERS,
  html: errorPage({ tenantName: slug, title: 'Sign-in cannot go on', words: OAUTH_WORDS[out.error] ?? 'The app sent a request this organisation cannot answer. Go back to the app and try again.', code: out.error }),
});

/** The provider's own pages (logout, the device grant's), in the gateway's look: no script, nothing from elsewhere. */
export const providerPages = {
  error: providerErrorPage,
  logout: (slug: string, form: string) =>
    page(
      'Sign out?',
      slug,
      `<p>Sign out of ${esc(slug)} on this browser?</p>${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button><button type="submit" form="op.logoutForm" class="secondary">No, stay signed in</button>`,
    ),
  loggedOut: (slug: string, clientName?: string) => page('Signed out', slug, `<p>You are signed out${clientName ? ` of ${esc(clientName)}` : ''}. You can close this page.</p>`),
  // The library's forms carry the xsrf field; the inputs keep SPEC §12's name user_code.
  deviceInput: (slug: string, form: string, failed: boolean) =>
    page(
      'Connect a device',
      slug,
      `${failed ? '<p class="error" role="alert">That code did not work. Check it and try again.</p>' : '<p>Enter the code your device shows.</p>'}<label for="user_code">Code from your device</label>${form
        .replace('placeholder="Enter code"', '')
        .replace('name="user_code"', 'id="user_code" name="user_code"')}<button type="submit" form="op.deviceInputForm">Continue</button>`,
    ),
  deviceConfirm: (slug: string, form: string, clientName: string, userCode: string) =>
    page(
      'Connect this device?',
      slug,
      `<p><strong>${esc(clientName)}</strong> asks to sign in on a device showing the code</p><p><strong>${esc(userCode)}</strong></p><p>If you did not start this, or the code differs, choose Cancel.</p>${form}<button type="submit" form="op.deviceConfirmForm">Connect</button><button type="submit" form="op.deviceConfirmForm" name="abort" value="yes" class="secondary">Cancel</button>`,
    ),
  deviceDone: (slug: string, clientName: string) => page('Device connected', slug, `<p>${esc(clientName)} is signed in on your device. You can close this page.</p>`),
};
export type ProviderPages = typeof providerPages;
