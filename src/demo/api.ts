// The script every demo page starts with: how it calls the REST shim and shows errors.
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

// What a refusal says to fix (SPEC 16): the inputs and their rules, the failed password
// checks, the permissions missing. Names only: the API never echoes a value.
function remedy(detail) {
  if (!detail) return '';
  if (detail.fields) return ' What to fix: ' + detail.fields.map((f) => f.field + ' (' + f.rule.replace(/_/g, ' ') + ')').join(', ') + '.';
  if (detail.rules) return ' Failed checks: ' + detail.rules.map((r) => r.replace(/_/g, ' ')).join(', ') + '.';
  if (detail.missing) return ' Missing permission: ' + detail.missing.join(', ') + '.';
  return '';
}

async function run(action) {
  // The answer shows beside the form whose button asked, not at the top of a long page.
  const asking = document.activeElement;
  const form = asking && asking.closest ? asking.closest('fieldset') : null;
  if (form) form.append($('notice'), $('error'));
  $('error').textContent = '';
  $('notice').textContent = '';
  try {
    await action();
  } catch (e) {
    $('error').textContent = (e.code || e.name) + ': ' + e.message + remedy(e.detail);
  }
}
`;
