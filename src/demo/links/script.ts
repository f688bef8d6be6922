// The mailed-link pages' one script (/demo/link.js).
import { DEMO_API_JS } from '../api.js';

export const LINK_JS = `${DEMO_API_JS}
// Read the token once, then drop the query string from the address bar and from history.
const token = new URLSearchParams(location.search).get('token');
if (location.search) history.replaceState(null, '', location.pathname);

// The form that was used is hidden by then: focus goes to the message, not back to the top.
const done = (message) => {
  $('notice').textContent = message;
  $('next').hidden = false;
  $('notice').focus();
};
const noToken = () => fail('link_without_token', 'The link has no token: open the whole link from the mail.');

if (document.body.dataset.page === 'verify-email') {
  // Nothing is sent on load: only the button spends the token.
  if (!token) {
    $('verify-form').hidden = true;
    $('next').hidden = false;
    run(async () => { throw noToken(); });
  }
  $('verify').onclick = () => run(async () => {
    if (!token) throw noToken();
    // One request at a time: a double click must not spend the token twice and show the second's error.
    $('verify').disabled = true;
    try {
      await api('/auth/email/verify', { token });
    } catch (e) {
      $('verify').disabled = false;
      $('next').hidden = false;
      throw e;
    }
    $('verify-form').hidden = true;
    done('Address verified, you can sign in.');
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

if (document.body.dataset.page === 'accept-invitation') {
  const accepted = (tokens) => {
    $('accept-form').hidden = true;
    $('existing-form').hidden = true;
    $('existing-password').value = '';
    done('Invitation accepted: signed in as ' + tokens.user.email + ' in ' + tokens.user.tenant + ' (roles: ' + (tokens.user.roles.join(', ') || 'none') + ').');
  };
  $('accept').onclick = () => run(async () => {
    if (!token) throw noToken();
    // auth_unauthenticated: the address has an account; sign in with it below.
    const tokens = await api('/auth/invitations/accept', { token, password: $('accept-password').value });
    $('accept-password').value = '';
    accepted(tokens);
  });
  $('accept-existing').onclick = () => run(async () => {
    if (!token) throw noToken();
    const session = await api('/auth/login', { tenant: $('existing-tenant').value.trim(), email: $('existing-email').value.trim(), password: $('existing-password').value });
    accepted(await api('/auth/invitations/accept', { token }, session.access_token));
  });
}
`;
