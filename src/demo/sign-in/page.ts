// The sign-in page served at /demo (outside production by default): plain DOM, no CDN.
// It calls the REST shim exactly as a client would and shows every error's code and message;
// its script is script.ts. The pages that mailed links open are in ../links/.
import { htmlDocument } from '../../rest/pages/style.js';
import { DEMO_STYLE } from '../style.js';

// The hosted pages' shell and sheet (rest/pages/style.ts): one UI.
export const DEMO_HTML = htmlDocument({
  title: 'auth-gateway demo',
  style: DEMO_STYLE,
  body: `
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
  <button id="sso">Sign in with your organisation (SSO)</button>
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
  <legend>Your sessions</legend>
  <button id="sessions-show">Show my sessions</button>
  <ul id="sessions-list" aria-live="polite"></ul>
</fieldset>
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
<script src="/assets/simplewebauthn-browser.js"></script>
<script src="/demo/app.js"></script>
`,
});
