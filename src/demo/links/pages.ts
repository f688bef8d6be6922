// The pages that the lifecycle's mailed links open when a tenant's links point at the demo
// (APP_URL's default outside production is http://localhost:<PORT>/demo):
// /demo/verify-email?token=..., /demo/reset-password?token=... and
// /demo/accept-invitation?token=.... One small script (script.ts) serves them all: it reads the token, takes it out of the address bar and history at once, keeps it in
// memory only, asks the API what the link is (inspectLink, which spends nothing) to say so
// at once, offers a new link where one can be asked for, and shows refusals in words with
// their code.
// Link pages need a click: each page spends its token only in a POST that a button on the page
// starts, never on load, so a mail scanner that opens the link (even one that runs the page's
// script) spends nothing.
import { htmlDocument } from '../../rest/pages/style.js';
import { DEMO_STYLE } from '../style.js';

// The hosted pages' shell and card (rest/pages/style.ts): one UI for the sign-in and the links.
const linkPage = (kind: 'verify-email' | 'reset-password' | 'accept-invitation', title: string, body: string) =>
  htmlDocument({
    title: `auth-gateway demo: ${title}`,
    style: `${DEMO_STYLE}<style>#notice:focus { outline: none; } main fieldset { box-shadow: none; }</style>`,
    bodyAttributes: `data-page="${kind}"`,
    body: `<main>
<h1>auth-gateway</h1>
<p id="who">${title}</p>
<p id="link-state" aria-live="polite"></p>
${body}
<p id="notice" tabindex="-1"></p>
<p id="error" role="alert"></p>
<p id="next" hidden><a href="/demo">Go to the sign-in page</a></p>
</main>
<script src="/demo/link.js"></script>`,
  });

// Where a link no longer works and a new one can be asked for (resend or forgot): the tenant
// is filled in when the link still names it; the answer is the same for any address.
const renewForm = (button: string) => `<fieldset id="renew-form" hidden>
  <legend>Send me a new link</legend>
  <label>Tenant <input id="renew-tenant" autocomplete="organization"></label>
  <label>E-mail <input id="renew-email" type="email" autocomplete="username"></label>
  <button id="renew">${button}</button>
</fieldset>`;

export const VERIFY_EMAIL_HTML = linkPage(
  'verify-email',
  'Confirm your e-mail address',
  `<div id="verify-form">
  <p>Confirm that this is your address to finish signing up. If you did not sign up, leave this page: nothing happens unless you press the button.</p>
  <button id="verify" type="button">Confirm my address</button>
</div>
${renewForm('Send a new confirmation link')}`,
);

export const RESET_PASSWORD_HTML = linkPage(
  'reset-password',
  'Choose a new password',
  `<fieldset id="reset-form">
  <legend>New password</legend>
  <label>New password <input id="reset-password" type="password" autocomplete="new-password"></label>
  <button id="reset">Set the new password</button>
</fieldset>
${renewForm('Send a new reset link')}`,
);

// A new account chooses a password; an address that already has an account signs in here
// and accepts signed in (the tenant and address are filled in from the link).
export const ACCEPT_INVITATION_HTML = linkPage(
  'accept-invitation',
  'Accept the invitation',
  `<fieldset id="accept-form">
  <legend>New account</legend>
  <label>Choose a password <input id="accept-password" type="password" autocomplete="new-password"></label>
  <button id="accept">Create the account and sign in</button>
</fieldset>
<fieldset id="existing-form">
  <legend>I already have an account here</legend>
  <label>Tenant <input id="existing-tenant" autocomplete="organization"></label>
  <label>E-mail <input id="existing-email" type="email" autocomplete="username"></label>
  <label>Password <input id="existing-password" type="password" autocomplete="current-password"></label>
  <button id="accept-existing">Sign in and accept</button>
</fieldset>`,
);
