// The hosted sign-in's passkey (SPEC §12), as a same-origin script: the browser offers the
// tenant's passkeys in the e-mail field's autofill where it can (conditional UI), and on the
// button; the signed answer goes back in the page's own form, posted like the others.
/**
 * The page Google sends the browser back to (its ID token in the URL fragment, which no server
 * sees): the token is posted to the interaction that `state` names, on this origin, and the
 * fragment is taken out of the address bar.
 */
export const GOOGLE_RETURN_JS = `(() => {
  const params = new URLSearchParams(location.hash.slice(1));
  history.replaceState(null, '', location.pathname);
  const state = /^([a-z0-9][a-z0-9-]{0,63})\\.([A-Za-z0-9_-]{1,100})$/.exec(params.get('state') || '');
  const form = document.getElementById('google-return');
  if (!state || !form) {
    document.getElementById('words').textContent = 'This sign-in did not come back as it should. Go back to the app and start again.';
    return;
  }
  const base = location.pathname.replace(/\\/auth\\/google\\/return$/, '');
  form.action = base + '/oidc/' + state[1] + '/interaction/' + state[2] + '/google/return';
  form.elements.id_token.value = params.get('id_token') || '';
  form.submit();
})();
`;

export const SIGN_IN_JS = `(() => {
  const form = document.getElementById('passkey-form');
  const button = document.getElementById('passkey');
  const problem = document.getElementById('passkey-problem');
  const webauthn = window.SimpleWebAuthnBrowser;
  if (!form || !button || !webauthn || !webauthn.browserSupportsWebAuthn()) return;
  const options = async () => {
    const res = await fetch(form.dataset.options, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tenant: form.dataset.tenant }) });
    if (!res.ok) throw new Error('options');
    return res.json();
  };
  const signIn = async (autofill) => {
    const response = await webauthn.startAuthentication({ optionsJSON: await options(), useBrowserAutofill: autofill });
    form.elements.response.value = JSON.stringify(response);
    form.submit();
  };
  button.hidden = false;
  form.addEventListener('submit', (event) => {
    if (form.elements.response.value) return;
    event.preventDefault();
    problem.textContent = '';
    signIn(false).catch((e) => {
      if (e && e.name === 'AbortError') return;
      problem.textContent = 'The passkey sign-in did not finish. Try again, or use your password.';
    });
  });
  webauthn.browserSupportsWebAuthnAutofill().then((yes) => yes && signIn(true)).catch(() => {});
})();
`;
