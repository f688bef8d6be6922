// A browser in miniature for the tests and the bench: cookies per origin, redirects followed
// by hand, forms posted as a browser posts them. Not a product part.

/** A browser in miniature: cookies per origin, redirects followed by hand until `stop` says so. */
export class MiniBrowser {
  private cookies = new Map<string, Map<string, string>>();

  /** `fetcher`: another fetch (the bench's, trusting a local certificate). */
  constructor(private readonly fetcher: typeof fetch = fetch) {}

  /** The value of cookie `name` the browser holds for `origin`. */
  cookie(origin: string, name: string): string | undefined {
    return this.cookies.get(new URL(origin).origin)?.get(name);
  }

  /** GETs `url` and follows redirects; answers the first URL for which `stop` is true (not fetched), or the last response. */
  follow(url: string, stop: (u: URL) => boolean, max = 20): Promise<{ url: URL; status?: number; body?: string }> {
    return this.go(url, stop, max);
  }

  /** POSTs a form (as a browser submits one) to `url`, then follows redirects as `follow` does. */
  submit(url: string, fields: Record<string, string>, stop: (u: URL) => boolean, max = 20): Promise<{ url: URL; status?: number; body?: string }> {
    return this.go(url, stop, max, new URLSearchParams(fields).toString());
  }

  private async go(url: string, stop: (u: URL) => boolean, max: number, form?: string): Promise<{ url: URL; status?: number; body?: string }> {
    let next = new URL(url);
    for (let i = 0; i < max; i++) {
      if (stop(next)) return { url: next };
      const jar = this.cookies.get(next.origin) ?? new Map<string, string>();
      const headers: Record<string, string> = { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '), accept: 'text/html' };
      if (form !== undefined && i === 0) headers['content-type'] = 'application/x-www-form-urlencoded';
      const res = await this.fetcher(next, { redirect: 'manual', method: form !== undefined && i === 0 ? 'POST' : 'GET', body: form !== undefined && i === 0 ? form : undefined, headers });
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(';');
        const eq = pair.indexOf('=');
        jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1));
      }
      this.cookies.set(next.origin, jar);
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) return { url: next, status: res.status, body: await res.text() };
      await res.arrayBuffer();
      next = new URL(location, next);
    }
    throw new Error(`more than ${max} redirects`);
  }
}
