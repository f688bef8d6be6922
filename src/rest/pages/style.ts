// One look for every page the gateway serves (SPEC §12: one UI, not two): the hosted sign-in,
// second step, consent and device pages, the demo page and the pages mailed links open share
// this sheet's type, fields, buttons, focus ring, refusals and phone layout. Inline <style>: the
// pages' CSP allows inline styles, never inline scripts.
export const BASE_STYLE = `body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1c1e21}
main{max-width:26rem;margin:3rem auto;padding:1.5rem 2rem;background:#fff;border-radius:12px;box-shadow:0 1px 4px #0002}
h1{font-size:1.35rem;margin:0 0 1rem}label{display:block;margin:.75rem 0 .25rem;font-weight:600}
input{width:100%;box-sizing:border-box;padding:.6rem;font-size:1rem;border:1px solid #aab;border-radius:6px}
input:focus,button:focus{outline:3px solid #4a7cf0;outline-offset:2px}
button{margin-top:1.25rem;padding:.65rem 1.2rem;font-size:1rem;border-radius:6px;border:0;background:#2456c7;color:#fff;cursor:pointer}
button.secondary{background:#e4e7ee;color:#1c1e21;margin-left:.5rem}button.wide{margin-left:0;width:100%}.note{color:#8a1c1c;min-height:1.2em;margin:.5rem 0 0}
.error{background:#fdecec;color:#8a1c1c;padding:.6rem .8rem;border-radius:6px}.code{font-size:.75rem;color:#666}
ul{padding-left:1.2rem}@media (max-width:30rem){main{margin:1rem .5rem;padding:1.25rem}}`;

/** The one page shell: language, viewport, the sheet, the body (escaped by the caller). */
export function htmlDocument(o: { title: string; style: string; body: string; bodyAttributes?: string }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title}</title>${o.style}</head>
<body${o.bodyAttributes ? ` ${o.bodyAttributes}` : ''}>${o.body}</body></html>
`;
}
