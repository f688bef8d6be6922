// An unknown tenant or user costs the same time as a wrong password, at the production hashing parameters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACME, ADA, OWASP_ENV, startTestGateway, type TestGateway } from '../helpers/gateway.js';

let open: TestGateway;
const ada = ADA;

beforeAll(async () => {
  // Hashing cost is this file's subject: OWASP's parameters, and no limits in the way.
  open = await startTestGateway({ env: { RATE_LIMIT_ENABLED: 'false', ...OWASP_ENV } });
  await open.seed(ACME);
});
afterAll(() => open?.close());

describe('timing', () => {
  it('an unknown user costs the same as a wrong password (200 samples each, medians within 10%)', async () => {
    {
      const time = async (body: object) => {
        const t = performance.now();
        const res = await fetch(`${open.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        await res.arrayBuffer();
        expect(res.status).toBe(401);
        return performance.now() - t;
      };
      for (let i = 0; i < 10; i++) await time({ ...ada, password: 'warm-up' });
      const unknown: number[] = [];
      const wrong: number[] = [];
      // Interleaved, so load on the machine falls on both sides alike.
      for (let i = 0; i < 200; i++) {
        unknown.push(await time({ ...ada, email: `ghost${i}@acme.test` }));
        wrong.push(await time({ ...ada, password: `wrong password ${i}` }));
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      const [mu, mw] = [median(unknown), median(wrong)];
      expect(Math.abs(mu - mw) / Math.max(mu, mw), `medians ${mu.toFixed(2)} ms vs ${mw.toFixed(2)} ms`).toBeLessThan(0.1);
    }
  }, 120_000);
});
