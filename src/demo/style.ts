// The demo pages' one style sheet.
/** The pages' one style sheet (inline <style>: the CSP allows inline styles, never inline scripts). */
export const DEMO_STYLE = `<style>
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; color: #1d2330; }
  fieldset { border: 1px solid #c9d1de; border-radius: 8px; margin: 0 0 1rem; padding: 0.75rem 1rem; }
  label { display: block; margin: 0.25rem 0; }
  input { width: 100%; box-sizing: border-box; padding: 0.35rem; }
  button { margin: 0.25rem 0.35rem 0.25rem 0; padding: 0.4rem 0.8rem; }
  #who { font-weight: 600; }
  #error { color: #a40e26; min-height: 1.5em; }
  #error .code { font-family: ui-monospace, monospace; font-size: 0.8em; color: #5b6475; }
  #notice { color: #136c2e; min-height: 1.5em; }
  pre { background: #f3f5f9; padding: 0.75rem; border-radius: 6px; overflow: auto; }
  pre:empty { display: none; }
  code { font-family: ui-monospace, monospace; word-break: break-all; }
  #totp-qr { display: block; width: 12rem; height: 12rem; margin: 0.5rem 0; background: #fff; }
  #recovery-codes { font-family: ui-monospace, monospace; columns: 2; background: #f3f5f9; padding: 0.75rem 0.75rem 0.75rem 2.5rem; border-radius: 6px; }
  #recovery-codes:empty { display: none; }
</style>`;
