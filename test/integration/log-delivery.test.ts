// A request's log line reaches the real gateway's stdout within one second, even when it is the only request (no 4 KB batch to fill), and lines logged at shutdown still get out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACME, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { sharingEnv, spawnGateway, type GatewayProcess } from '../helpers/process.js';

// docs/observability.md: lines reach their destination within one second of the request.
const BOUND_MS = 1000;
let db: TestGateway;
let child: GatewayProcess;
/** Each stdout chunk of the child with the time it arrived. */
const chunks: Array<{ at: number; text: string }> = [];

beforeAll(async () => {
  // The in-process gateway only provides a migrated, seeded database and the keys.
  db = await startTestGateway();
  await db.seed(ACME);
  child = await spawnGateway(sharingEnv(db));
  child.proc.stdout!.on('data', (d) => chunks.push({ at: performance.now(), text: String(d) }));
}, 60_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await db?.close();
});

/** When the line of request `reqId` arrived on the child's stdout, waiting up to `waitMs`. */
async function arrivalOf(reqId: string, waitMs: number): Promise<{ at: number; line: any } | undefined> {
  const until = performance.now() + waitMs;
  for (;;) {
    let text = '';
    for (const c of chunks) {
      text += c.text;
      const line = text.split('\n').find((l) => l.includes(`"reqId":"${reqId}"`) && l.endsWith('}'));
      if (line) return { at: c.at, line: JSON.parse(line) };
    }
    if (performance.now() > until) return undefined;
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('log delivery at low traffic', () => {
  it('a single failed login\'s line is on stdout within one second', async () => {
    // Let the start-up lines settle, so the request is alone.
    await new Promise((r) => setTimeout(r, 300));
    const sent = performance.now();
    const res = await fetch(`${child.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: 'acme', email: 'ada@acme.test', password: 'not the password' }),
    });
    const answered = performance.now();
    await res.text();
    const reqId = res.headers.get('x-request-id')!;
    expect(res.status).toBeGreaterThanOrEqual(400);
    const arrival = await arrivalOf(reqId, 3 * BOUND_MS);
    expect(arrival, `no log line for ${reqId} on stdout within ${3 * BOUND_MS} ms of the response; stdout:\n${child.output()}`).toBeDefined();
    expect(arrival!.line).toMatchObject({ reqId, status: res.status, code: res.headers.get('x-error-code'), url: '/auth/login' });
    const afterResponse = arrival!.at - answered;
    console.info(`log line ${Math.round(arrival!.at - sent)} ms after the request was sent, ${Math.round(afterResponse)} ms after its response`);
    expect(afterResponse).toBeLessThan(BOUND_MS);
  });

  it('lines written while shutting down still reach stdout before the process exits', async () => {
    child.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    expect(child.output()).toContain('shut down cleanly');
  }, 20_000);
});
