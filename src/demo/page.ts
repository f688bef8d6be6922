// The sign-in page served at /demo (outside production by default): plain DOM, no CDN.
// It calls the REST shim exactly as a client would and shows every error's code and message.
// The pages that mailed links open (/demo/verify-email, /demo/reset-password) are in link-pages.ts.

/** The pages' one style sheet (inline <style>: the CSP allows inline styles, never inline scripts). */
export const DEMO_STYLE = `<style>
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; color: #1d2330; }
  fieldset { border: 1px solid #c9d1de; border-radius: 8px; margin: 0 0 1rem; padding: 0.75rem 1rem; }
  label { display: block; margin: 0.25rem 0; }
  input { width: 100%; box-sizing: border-box; padding: 0.35rem; }
  button { margin: 0.25rem 0.35rem 0.25rem 0; padding: 0.4rem 0.8rem; }
  #who { font-weight: 600; }
  #error { color: #a40e26; font-family: ui-monospace, monospace; min-height: 1.5em; }
  #notice { color: #136c2e; min-height: 1.5em; }
  pre { background: #f3f5f9; padding: 0.75rem; border-radius: 6px; overflow: auto; }
  pre:empty { display: none; }
  code { font-family: ui-monospace, monospace; word-break: break-all; }
  #totp-qr { display: block; width: 12rem; height: 12rem; margin: 0.5rem 0; background: #fff; }
  #recovery-codes { font-family: ui-monospace, monospace; columns: 2; background: #f3f5f9; padding: 0.75rem 0.75rem 0.75rem 2.5rem; border-radius: 6px; }
  #recovery-codes:empty { display: none; }
</style>`;

export const DEMO_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>auth-gateway demo</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
${DEMO_STYLE}
</head>
<body>
<h1>auth-gateway</h1>
<p id="who">Signed out</p>
<p id="notice"></p>
<p id="error" role="alert"></p>
<fieldset>
  <legend>Account</legend>
  <label>Tenant <input id="tenant" value="demo" autocomplete="organization"></label>
  <label>E-mail <input id="email" type="email" autocomplete="username webauthn"></label>
  <label>Password <input id="password" type="password" autocomplete="current-password"></label>
  <button id="login">Sign in</button>
  <button id="passkey-email">Sign in with a passkey</button>
  <button id="passkey-discoverable">Sign in with a passkey (no e-mail)</button>
</fieldset>
<fieldset id="mfa-step" hidden>
  <legend>Second step</legend>
  <p id="mfa-prompt"></p>
  <label><span id="mfa-label">Code from your authenticator app</span> <input id="mfa-code" autocomplete="one-time-code" inputmode="numeric"></label>
  <button id="mfa-verify">Verify</button>
  <button id="mfa-switch">Use a recovery code</button>
  <button id="mfa-cancel">Cancel</button>
</fieldset>
<fieldset>
  <legend>Session</legend>
  <button id="register">Register a passkey</button>
  <button id="me">Show me</button>
  <button id="refresh">Refresh</button>
  <button id="logout">Log out</button>
</fieldset>
<pre id="me-out"></pre>
<fieldset>
  <legend>Two-factor (TOTP)</legend>
  <button id="totp-enroll">Enrol</button>
  <div id="totp-enrolment" hidden>
    <p>Scan the QR code with an authenticator app, or type the secret into it.</p>
    <img id="totp-qr" alt="QR code of the otpauth URI">
    <p>Secret: <code id="totp-secret"></code></p>
    <p>URI: <code id="totp-uri"></code></p>
  </div>
  <label>Code from the app <input id="totp-code" autocomplete="one-time-code" inputmode="numeric"></label>
  <button id="totp-activate">Activate</button>
  <button id="totp-recovery">New recovery codes</button>
  <button id="totp-disable">Disable</button>
  <ol id="recovery-codes"></ol>
</fieldset>
<fieldset>
  <legend>Change password (signed in)</legend>
  <label>Current password <input id="change-current" type="password" autocomplete="current-password"></label>
  <label>New password <input id="change-new" type="password" autocomplete="new-password"></label>
  <button id="change">Change password</button>
</fieldset>
<fieldset>
  <legend>Sign up</legend>
  <label>Tenant <input id="signup-tenant" value="demo" autocomplete="organization"></label>
  <label>E-mail <input id="signup-email" type="email" autocomplete="email"></label>
  <label>Password <input id="signup-password" type="password" autocomplete="new-password"></label>
  <button id="signup">Sign up</button>
  <button id="resend">Resend the verification mail</button>
</fieldset>
<fieldset>
  <legend>Forgot password</legend>
  <label>Tenant <input id="forgot-tenant" value="demo" autocomplete="organization"></label>
  <label>E-mail <input id="forgot-email" type="email" autocomplete="email"></label>
  <button id="forgot">Mail me a reset link</button>
</fieldset>
<script src="/demo/simplewebauthn-browser.js"></script>
<script src="/demo/app.js"></script>
</body>
</html>
`;

/** What every page's script starts with: $, the API call, and run() showing errors as the API returned them. */
export const DEMO_API_JS = `'use strict';
const $ = (id) => document.getElementById(id);

async function api(path, body, bearer, method = body === undefined ? 'GET' : 'POST') {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (bearer) headers.authorization = 'Bearer ' + bearer;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const detail = data && data.detail;
    const err = new Error((detail && detail.message) || res.statusText);
    err.code = (detail && detail.code) || String(res.status);
    err.detail = detail;
    throw err;
  }
  return data;
}

const fail = (code, message) => Object.assign(new Error(message), { code });

async function run(action) {
  $('error').textContent = '';
  $('notice').textContent = '';
  try {
    await action();
  } catch (e) {
    $('error').textContent = (e.code || e.name) + ': ' + e.message;
  }
}
`;

export const DEMO_JS = `${DEMO_API_JS}
// Tokens live in memory only: a reload signs out.
let tokens = null;
// Signed out, protected calls go without a token and show the API's own answer.
const accessToken = () => tokens && tokens.access_token;

function render() {
  $('who').textContent = tokens
    ? 'Signed in as ' + tokens.user.email + ' in ' + tokens.user.tenant + ' (roles: ' + (tokens.user.roles.join(', ') || 'none') + ')'
    : 'Signed out';
  if (tokens) mfaStep(null);
}

const field = (id) => $(id).value.trim();

// The second step of a sign-in (auth_mfa_required): its mfa_token stays in memory only.
let mfa = null;

function mfaStep(state, err) {
  mfa = state;
  $('mfa-step').hidden = !state;
  $('mfa-code').value = '';
  if (!state) return;
  $('mfa-prompt').textContent = err.code + ': ' + err.message + ' Enter the code your authenticator app shows, or one of your recovery codes.';
  $('mfa-switch').hidden = !state.methods.includes('recovery_code');
  mfaMode(false);
  $('mfa-code').focus();
}

function mfaMode(recovery) {
  if (mfa) mfa.recovery = recovery;
  $('mfa-label').textContent = recovery ? 'Recovery code' : 'Code from your authenticator app';
  $('mfa-switch').textContent = recovery ? 'Use a code from the app' : 'Use a recovery code';
  $('mfa-code').autocomplete = recovery ? 'off' : 'one-time-code';
  $('mfa-code').inputMode = recovery ? 'text' : 'numeric';
}

$('login').onclick = () => run(async () => {
  mfaStep(null);
  try {
    tokens = await api('/auth/login', { tenant: field('tenant'), email: field('email'), password: $('password').value });
  } catch (e) {
    if (e.code !== 'auth_mfa_required' || !e.detail || !e.detail.mfa_token) throw e;
    mfaStep({ token: e.detail.mfa_token, methods: e.detail.methods || [], recovery: false }, e);
    return;
  }
  render();
});

$('mfa-verify').onclick = () => run(async () => {
  if (!mfa) throw fail('signed_out', 'Sign in with your password first.');
  const body = { mfa_token: mfa.token };
  body[mfa.recovery ? 'recovery_code' : 'code'] = field('mfa-code');
  try {
    tokens = await api('/auth/mfa/verify', body);
  } catch (e) {
    // A spent or expired step cannot go on: sign in again. A wrong code may be tried again.
    if (e.code === 'auth_mfa_token_invalid') mfaStep(null);
    throw e;
  }
  mfaStep(null);
  render();
});
$('mfa-code').onkeydown = (e) => { if (e.key === 'Enter') $('mfa-verify').click(); };
$('mfa-switch').onclick = () => run(async () => {
  mfaMode(!(mfa && mfa.recovery));
  $('mfa-code').value = '';
  $('mfa-code').focus();
});
$('mfa-cancel').onclick = () => run(async () => mfaStep(null));

$('register').onclick = () => run(async () => {
  const optionsJSON = await api('/auth/webauthn/register/options', {}, accessToken());
  const response = await SimpleWebAuthnBrowser.startRegistration({ optionsJSON });
  const passkey = await api('/auth/webauthn/register/verify', { response, name: 'demo page' }, accessToken());
  $('notice').textContent = 'Passkey registered (' + passkey.id + ')';
});

async function passkeySignIn(withEmail) {
  const body = { tenant: field('tenant') };
  if (withEmail) body.email = field('email');
  const optionsJSON = await api('/auth/webauthn/login/options', body);
  const response = await SimpleWebAuthnBrowser.startAuthentication({ optionsJSON });
  tokens = await api('/auth/webauthn/login/verify', { tenant: field('tenant'), response });
  render();
}
$('passkey-email').onclick = () => run(() => passkeySignIn(true));
$('passkey-discoverable').onclick = () => run(() => passkeySignIn(false));

$('me').onclick = () => run(async () => {
  $('me-out').textContent = JSON.stringify(await api('/auth/me', undefined, accessToken()), null, 2);
});

$('refresh').onclick = () => run(async () => {
  if (!tokens) throw fail('signed_out', 'Sign in first.');
  tokens = await api('/auth/refresh', { refresh_token: tokens.refresh_token });
  $('notice').textContent = 'Tokens refreshed';
  render();
});

$('logout').onclick = () => run(async () => {
  if (tokens) await api('/auth/logout', { refresh_token: tokens.refresh_token });
  tokens = null;
  $('me-out').textContent = '';
  totpPanel(null);
  mfaStep(null);
  render();
});

// Two-factor (TOTP) for the signed-in session. The secret, its QR code and the recovery codes
// are shown once and dropped from the page when they are no longer needed.
function totpPanel(enrolment) {
  $('totp-enrolment').hidden = !enrolment;
  $('totp-secret').textContent = enrolment ? enrolment.secret : '';
  $('totp-uri').textContent = enrolment ? enrolment.otpauth_uri : '';
  if (enrolment) $('totp-qr').src = enrolment.qr;
  else $('totp-qr').removeAttribute('src');
  $('totp-code').value = '';
  recoveryCodes([]);
}

function recoveryCodes(codes) {
  $('recovery-codes').replaceChildren(...codes.map((code) => Object.assign(document.createElement('li'), { textContent: code })));
}

$('totp-enroll').onclick = () => run(async () => {
  const enrolment = await api('/auth/mfa/totp/enroll', {}, accessToken());
  // qr's own ES module, served from node_modules (no CDN): the URI is drawn here, in the page.
  const { encodeQR } = await import('/demo/qr.js');
  const svg = encodeQR(enrolment.otpauth_uri, 'svg', { ecc: 'medium', border: 4 });
  totpPanel({ ...enrolment, qr: 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(svg) });
  $('notice').textContent = 'Factor pending: enter the code your app shows and activate it.';
});

$('totp-activate').onclick = () => run(async () => {
  const { recovery_codes } = await api('/auth/mfa/totp/activate', { code: field('totp-code') }, accessToken());
  totpPanel(null);
  recoveryCodes(recovery_codes);
  $('notice').textContent = 'Two-factor sign-in is on. Keep these ten recovery codes somewhere safe: each works once, and they are shown only now.';
});

$('totp-recovery').onclick = () => run(async () => {
  const { recovery_codes } = await api('/auth/mfa/recovery-codes', {}, accessToken());
  recoveryCodes(recovery_codes);
  $('notice').textContent = 'New recovery codes: the old ones no longer work.';
});

$('totp-disable').onclick = () => run(async () => {
  await api('/auth/mfa/totp', { code: field('totp-code') }, accessToken(), 'DELETE');
  totpPanel(null);
  $('notice').textContent = 'Two-factor sign-in is off; its recovery codes no longer work.';
});

// The account lifecycle: sign-up, its verification mail again, a forgotten password, a change.
$('signup').onclick = () => run(async () => {
  await api('/auth/signup', { tenant: field('signup-tenant'), email: field('signup-email'), password: $('signup-password').value });
  $('signup-password').value = '';
  $('notice').textContent = 'Check your mail: the link sent to ' + field('signup-email') + ' finishes the sign-up.';
});

$('resend').onclick = () => run(async () => {
  await api('/auth/email/verify/resend', { tenant: field('signup-tenant'), email: field('signup-email') });
  $('notice').textContent = 'Check your mail: if ' + field('signup-email') + ' has an unverified account, a new link is on its way.';
});

$('forgot').onclick = () => run(async () => {
  await api('/auth/password/forgot', { tenant: field('forgot-tenant'), email: field('forgot-email') });
  $('notice').textContent = 'Check your mail: if ' + field('forgot-email') + ' has an account, a reset link is on its way.';
});

$('change').onclick = () => run(async () => {
  await api('/auth/password/change', { current_password: $('change-current').value, new_password: $('change-new').value }, accessToken());
  $('change-current').value = '';
  $('change-new').value = '';
  $('notice').textContent = 'Password changed; your other sessions were ended and your API keys revoked.';
});
`;
