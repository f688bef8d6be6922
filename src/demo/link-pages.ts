// The pages that the lifecycle's mailed links open when a tenant's links point at the demo
// (APP_URL's default outside production is http://localhost:<PORT>/demo):
// /demo/verify-email?token=... and /demo/reset-password?token=.... One small script serves
// both: it reads the token, takes it out of the address bar and history at once, keeps it in
// memory only, and shows every error's code and message as the API returned them.
import { DEMO_API_JS, DEMO_STYLE } from './page.js';

const linkPage = (kind: 'verify-email' | 'reset-password', title: string, body: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>auth-gateway demo: ${title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
${DEMO_STYLE}
</head>
<body data-page="${kind}">
<h1>auth-gateway</h1>
<p id="who">${title}</p>
${body}
<p id="notice"></p>
<p id="error" role="alert"></p>
<p id="next" hidden><a href="/demo">Go to the sign-in page</a></p>
<script src="/demo/link.js"></script>
</body>
</html>
`;

export const VERIFY_EMAIL_HTML = linkPage('verify-email', 'Confirm your e-mail address', '<p id="progress">Checking the link…</p>');

export const RESET_PASSWORD_HTML = linkPage(
  'reset-password',
  'Choose a new password',
  `<fieldset id="reset-form">
  <legend>New password</legend>
  <label>New password <input id="reset-password" type="password" autocomplete="new-password"></label>
  <button id="reset">Set the new password</button>
</fieldset>`,
);

export const LINK_JS = `${DEMO_API_JS}
// Read the token once, then drop the query string from the address bar and from history.
const token = new URLSearchParams(location.search).get('token');
if (location.search) history.replaceState(null, '', location.pathname);

const done = (message) => {
  $('notice').textContent = message;
  $('next').hidden = false;
};
const noToken = () => fail('link_without_token', 'The link has no token: open the whole link from the mail.');

if (document.body.dataset.page === 'verify-email') {
  run(async () => {
    try {
      if (!token) throw noToken();
      await api('/auth/email/verify', { token });
      done('Address verified, you can sign in.');
    } finally {
      $('progress').hidden = true;
      $('next').hidden = false;
    }
  });
}

if (document.body.dataset.page === 'reset-password') {
  $('reset').onclick = () => run(async () => {
    if (!token) throw noToken();
    // A refused password (auth_password_weak) leaves the link usable: try another one.
    await api('/auth/password/reset', { token, password: $('reset-password').value });
    $('reset-password').value = '';
    $('reset-form').hidden = true;
    done('Password changed, sign in with the new one.');
  });
}
`;
