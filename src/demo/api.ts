// The script every demo page starts with: how it calls the REST shim and shows errors.
import { FIELD_WORDS, PASSWORD_WORDS, USER_WORDS } from './words.js';

/** What every page's script starts with: $, the API call, and run() showing a refusal in words, with its code. */
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

// In words a person understands (src/demo/words.ts), with what to fix when the API says
// (SPEC 16: the inputs and their rules, the failed password checks, the missing permissions).
// Names only: the API never echoes a value, and neither does the page.
const WORDS = ${JSON.stringify(USER_WORDS)};
const FIELD_WORDS = ${JSON.stringify(FIELD_WORDS)};
const PASSWORD_WORDS = ${JSON.stringify(PASSWORD_WORDS)};
const fieldName = (f) => f.replace(/^input\./, '').replace(/_/g, ' ').replace(/\bemail\b/, 'e-mail');
function remedy(detail) {
  if (!detail) return '';
  if (detail.fields) return ' ' + detail.fields.map((f) => 'The ' + fieldName(f.field) + ' ' + (FIELD_WORDS[f.rule] || f.rule) + '.').join(' ');
  if (detail.rules) return ' It cannot be used because ' + detail.rules.map((r) => PASSWORD_WORDS[r] || r).join(', and ') + '.';
  if (detail.missing) return ' It needs the permission ' + detail.missing.join(', ') + '.';
  return '';
}

/** Shows a refusal: the sentence for people, then the code, small, for developers. */
function showError(e) {
  const says = document.createElement('span');
  says.className = 'says';
  says.textContent = (WORDS[e.code] || e.message) + remedy(e.detail);
  const code = document.createElement('small');
  code.className = 'code';
  code.textContent = e.code || e.name;
  $('error').replaceChildren(says, ' ', code);
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
    showError(e);
  }
}
`;
