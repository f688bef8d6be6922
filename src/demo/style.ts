// The demo pages' style: the gateway's one sheet (the hosted sign-in's, rest/pages/style.ts),
// and what a longer page of many buttons adds to it.
import { BASE_STYLE } from '../rest/pages/style.js';

/** The demo and link pages' sheet (inline <style>: the CSP allows inline styles, never inline scripts). */
export const DEMO_STYLE = `<style>${BASE_STYLE}
  body { max-width: 44rem; margin: 2rem auto; padding: 0 1rem; }
  fieldset { border: 1px solid #c9d1de; border-radius: 12px; margin: 0 0 1rem; padding: 0.75rem 1rem; background: #fff; box-shadow: 0 1px 4px #0002; }
  legend { font-weight: 600; padding: 0 0.25rem; }
  button { margin: 0.5rem 0.35rem 0.25rem 0; padding: 0.5rem 0.9rem; }
  #who { font-weight: 600; }
  #error { color: #8a1c1c; min-height: 1.5em; }
  #error:not(:empty) { background: #fdecec; padding: 0.6rem 0.8rem; border-radius: 6px; }
  #error .code { font-family: ui-monospace, monospace; font-size: 0.8em; color: #666; }
  #notice { color: #136c2e; min-height: 1.5em; }
  pre { background: #fff; padding: 0.75rem; border-radius: 6px; overflow: auto; }
  pre:empty { display: none; }
  code { font-family: ui-monospace, monospace; word-break: break-all; }
  #totp-qr { display: block; width: 12rem; height: 12rem; margin: 0.5rem 0; background: #fff; }
  #recovery-codes { font-family: ui-monospace, monospace; columns: 2; background: #fff; padding: 0.75rem 0.75rem 0.75rem 2.5rem; border-radius: 6px; }
  #recovery-codes:empty { display: none; }
</style>`;
