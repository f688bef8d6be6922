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
<fieldset>
  <legend>Session</legend>
  <button id="register">Register a passkey</button>
  <button id="me">Show me</button>
  <button id="refresh">Refresh</button>
  <button id="logout">Log out</button>
</fieldset>
<pre id="me-out"></pre>
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

async function api(path, body, bearer) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (bearer) headers.authorization = 'Bearer ' + bearer;
  const res = await fetch(path, { method: body === undefined ? 'GET' : 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const detail = data && data.detail;
    const err = new Error((detail && detail.message) || res.statusText);
    err.code = (detail && detail.code) || String(res.status);
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
}

const field = (id) => $(id).value.trim();

$('login').onclick = () => run(async () => {
  tokens = await api('/auth/login', { tenant: field('tenant'), email: field('email'), password: $('password').value });
  render();
});

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
  render();
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
  $('notice').textContent = 'Password changed; your other sessions were ended.';
});
`;
