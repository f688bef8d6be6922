// The mailed-link pages' one script (/demo/link.js).
import { DEMO_API_JS } from '../api.js';

export const LINK_JS = `${DEMO_API_JS}
// Read the token once, then drop the query string from the address bar and from history.
const token = new URLSearchParams(location.search).get('token');
if (location.search) history.replaceState(null, '', location.pathname);
const page = document.body.dataset.page;

// The form that was used is hidden by then: focus goes to the message, not back to the top.
// run() put the answer beside the form that asked; that form is hidden now, so it moves back.
const done = (message) => {
  $('next').before($('notice'), $('error'));
  $('notice').textContent = message;
  $('next').hidden = false;
  $('notice').focus();
};
const noToken = () => fail('link_without_token', 'The link has no token: open the whole link from the mail.');
const hide = (...ids) => ids.forEach((id) => ($(id).hidden = true));
const say = (text) => ($('link-state').textContent = text);
const FORMS = { 'verify-email': ['verify-form'], 'reset-password': ['reset-form'], 'accept-invitation': ['accept-form', 'existing-form'] };
const at = (link) => (link.tenant ? link.tenant.name + ' (tenant ' + link.tenant.slug + ')' : '');

// A link that no longer works: say why, hide what would spend it, offer a new one where the
// person can ask for it themselves (verification and reset; an invitation comes from its inviter).
function stale(link) {
  hide(...FORMS[page]);
  $('next').hidden = false;
  if (page === 'accept-invitation') {
    if (link.state === 'used') return say('This invitation was already accepted: sign in.');
    if (link.state === 'revoked') return say('This invitation was withdrawn.');
    if (link.state === 'expired') return say('This invitation to ' + at(link) + ' has expired. Ask ' + (link.invited_by || 'whoever invited you') + ' to invite you again.');
    return say('This is not an invitation that works: open the whole link from the newest mail.');
  }
  say(link.state === 'expired'
    ? 'This link has expired. Ask for a new one below.'
    : 'This link was already used, or a newer mail replaced it.' + (page === 'verify-email' ? ' If your address is confirmed, just sign in.' : '') + ' You can ask for a new one below.');
  $('renew-form').hidden = false;
  if (link.tenant) $('renew-tenant').value = link.tenant.slug;
  (link.tenant ? $('renew-email') : $('renew-tenant')).focus();
}

// What the link is, before anything is spent (POST /auth/links/inspect spends nothing). A
// link of another kind (an invitation's token on the reset page) is no link for this page.
const KIND = { 'verify-email': 'verify_email', 'reset-password': 'reset_password', 'accept-invitation': 'invitation' };
async function look() {
  const found = await api('/auth/links/inspect', { token });
  const link = found.kind === null || found.kind === KIND[page] ? found : { ...found, state: 'unknown', tenant: null };
  if (link.state !== 'valid') return stale(link);
  if (page === 'verify-email') say('Confirm ' + link.email + ' for ' + at(link) + '.');
  if (page === 'reset-password') say('A new password for ' + link.email + ' at ' + at(link) + '.');
  if (page === 'accept-invitation') {
    say((link.invited_by || 'Someone') + ' invited ' + link.email + ' to ' + at(link) + (link.roles.length ? ' as ' + link.roles.join(', ') : '') + '.');
    $('existing-tenant').value = link.tenant.slug;
    $('existing-email').value = link.email;
  }
}

if (!token) {
  hide(...FORMS[page]);
  $('next').hidden = false;
  run(async () => { throw noToken(); });
} else {
  run(look);
}

if ($('renew')) {
  $('renew').onclick = () => run(async () => {
    const tenant = $('renew-tenant').value.trim();
    const email = $('renew-email').value.trim();
    await api(page === 'verify-email' ? '/auth/email/verify/resend' : '/auth/password/forgot', { tenant, email });
    // The same answer for any address: the page cannot know, and does not pretend to.
    $('renew-form').hidden = true;
    done('If ' + email + ' has an account at ' + tenant + (page === 'verify-email' ? ' waiting for confirmation' : '') + ', a new link is on its way. Check your mail.');
  });
}

if (page === 'verify-email') {
  // Nothing is spent on load: only the button spends the token.
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

if (page === 'reset-password') {
  $('reset').onclick = () => run(async () => {
    if (!token) throw noToken();
    // A refused password (auth_password_weak) leaves the link usable: try another one.
    await api('/auth/password/reset', { token, password: $('reset-password').value });
    $('reset-password').value = '';
    $('reset-form').hidden = true;
    done('Password changed, sign in with the new one.');
  });
}

if (page === 'accept-invitation') {
  const accepted = (tokens) => {
    hide('accept-form', 'existing-form');
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
