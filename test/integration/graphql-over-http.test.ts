// /graphql conforms to the GraphQL-over-HTTP spec as graphql-http's server audit checks it: no MUST fails, malformed JSON gets 400.
import { serverAudits, type AuditResult } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
});

afterAll(async () => {
  await gw?.close();
});

/** Runs every audit; an audit that throws instead of failing its assertion counts as an error. */
async function runAudits(url: string): Promise<AuditResult[]> {
  const results: AuditResult[] = [];
  for (const audit of serverAudits({ url, fetchFn: fetch })) {
    try {
      results.push(await audit.fn());
    } catch (err) {
      results.push({ id: audit.id, name: audit.name, status: 'error', reason: `audit threw: ${String(err)}`, response: new Response(null) });
    }
  }
  return results;
}

describe('GraphQL over HTTP', () => {
  it("passes graphql-http's server audit: no MUST fails", async () => {
    const results = await runAudits(gw.url + '/graphql');
    const count = (status: AuditResult['status']) => results.filter((r) => r.status === status).length;
    const notOk = results.filter((r) => r.status !== 'ok');
    console.log(
      `graphql-http audit: ${count('ok')} ok, ${count('notice')} notice, ${count('warn')} warn, ${count('error')} error (of ${results.length})\n` +
        notOk.map((r) => `  ${r.status} ${r.id} ${r.name}${'reason' in r ? `: ${r.reason}` : ''}`).join('\n'),
    );
    const failedMusts = notOk.filter((r) => r.name.startsWith('MUST')).map((r) => `${r.id} ${r.name}`);
    expect(failedMusts).toEqual([]);
    // Bare Apollo Server 5 passes 55 of them; the gateway's own hooks must not cost any.
    expect(count('ok')).toBeGreaterThanOrEqual(55);
  });

  it('answers a body that is not JSON with 400 and the GraphQL error envelope', async () => {
    const badRequestLines = () =>
      gw
        .logs()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
        .filter((l) => l.url === '/graphql' && l.status === 400);
    const before = badRequestLines().length;
    for (const accept of ['application/json', 'application/graphql-response+json']) {
      const res = await fetch(gw.url + '/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept },
        body: '{ "not a JSON',
      });
      expect(res.status, accept).toBe(400);
      // The error comes in the media type the client asked for, as Apollo's own errors do.
      expect(res.headers.get('content-type')).toContain(accept);
      const body = await res.json();
      expect(body.errors, JSON.stringify(body)).toHaveLength(1);
      expect(typeof body.errors[0].message).toBe('string');
      expect(body.errors[0].extensions.code).toBe('BAD_REQUEST');
      expect(body).not.toHaveProperty('data');
    }
    // Operators count it by the same code, on the request's log line (written once the response is out).
    for (let i = 0; i < 20 && badRequestLines().length < before + 2; i++) await new Promise((r) => setTimeout(r, 50));
    const lines = badRequestLines().slice(before);
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line.code).toBe('BAD_REQUEST');
  });

  it('leaves the REST shim as it was: malformed JSON on /auth/* is still 422 auth_request_invalid', async () => {
    const res = await gw.rest('POST', '/auth/login', '{ "not a JSON', { 'content-type': 'application/json' });
    expect(res.status).toBe(422);
    expect(res.body.detail.code).toBe('auth_request_invalid');
    expect(res.headers.get('x-error-code')).toBe('auth_request_invalid');
  });
});
