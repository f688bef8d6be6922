// The sign-in page's script (/demo/app.js).
import { DEMO_API_JS } from '../api.js';

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
  $('mfa-prompt').textContent = 'This account has a second factor. Enter the code your authenticator app shows, or one of your recovery codes.';
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

// SSO (SPEC 11): the browser goes to the organisation's identity provider and comes back here
// with ?code= (or ?error=). The PKCE verifier waits in sessionStorage for that one round trip.
const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/[+]/g, '-').replace(/[/]/g, '_').replace(/=+$/, '');
$('sso').onclick = () => run(async () => {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const started = await api('/auth/sso/start', { tenant: field('tenant'), email: field('email'), redirect_to: location.origin + '/demo', code_challenge: challenge, code_challenge_method: 'S256' });
  sessionStorage.setItem('sso-verifier', verifier);
  location.assign(started.url);
});

async function ssoReturn() {
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  const error = params.get('error');
  if (!code && !error) return;
  history.replaceState(null, '', location.pathname);
  const verifier = sessionStorage.getItem('sso-verifier');
  sessionStorage.removeItem('sso-verifier');
  if (error) throw fail(error, 'The sign-in with your organisation did not finish.');
  try {
    tokens = await api('/auth/sso/token', { code, code_verifier: verifier || '' });
  } catch (e) {
    if (e.code !== 'auth_mfa_required' || !e.detail || !e.detail.mfa_token) throw e;
    mfaStep({ token: e.detail.mfa_token, methods: e.detail.methods || [], recovery: false }, e);
    return;
  }
  render();
  $('notice').textContent = 'Signed in with your organisation.';
}
run(ssoReturn);

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

// Your sessions: where this account is signed in, each with a button that ends it.
async function showSessions() {
  const { sessions } = await api('/auth/sessions', undefined, accessToken());
  const list = $('sessions-list');
  list.replaceChildren();
  for (const s of sessions) {
    const item = document.createElement('li');
    const when = new Date(s.last_used_at || s.created_at).toLocaleString();
    item.textContent = s.auth_method + ' sign-in, last used ' + when + (s.user_agent ? ' (' + s.user_agent.slice(0, 60) + ')' : '') + (s.current ? ' — this session ' : ' ');
    const end = document.createElement('button');
    end.textContent = s.current ? 'End this session' : 'End';
    end.dataset.session = s.id;
    end.onclick = () => run(async () => {
      await api('/auth/sessions/' + encodeURIComponent(s.id), undefined, accessToken(), 'DELETE');
      if (s.current) {
        tokens = null;
        render();
        list.replaceChildren();
        $('notice').textContent = 'This session has ended; you are signed out.';
        return;
      }
      $('notice').textContent = 'Session ended.';
      await showSessions();
    });
    item.append(end);
    list.append(item);
  }
  if (!sessions.length) list.textContent = 'No live sessions.';
}
$('sessions-show').onclick = () => run(showSessions);
`;
