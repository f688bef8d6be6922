// Calls on a tenant's behalf (SPEC §13; §11's IdP calls): only public addresses in production,
// judged where the connection is made (a name that resolves to a private address is refused,
// an address literal too), and answers read up to a size limit. Against real servers on loopback.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPublicAddress, outboundFetch } from '../../src/services/shared/outbound.js';

let server: http.Server;
let port = 0;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    const size = Number(new URL(req.url!, 'http://x').searchParams.get('bytes') ?? 10);
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(Buffer.alloc(size, 97));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

describe('outbound calls', () => {
  it('judges addresses as SPEC §13 lists them, IPv4-mapped forms included', () => {
    const refused = ['127.0.0.1', '0.0.0.0', '10.1.2.3', '100.64.1.1', '169.254.169.254', '172.16.0.1', '172.31.255.255', '192.168.1.1', '224.0.0.1', '255.255.255.255', '::', '::1', 'fc00::1', 'fd12::1', 'fe80::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::7f00:1', '::a00:1', '64:ff9b::7f00:1', '64:ff9b:1::1', '2002:7f00:1::1', '2001:0:4136:e378::1', 'fec0::1', 'not an address'];
    const allowed = ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8'];
    expect(refused.filter((a) => isPublicAddress(a))).toEqual([]);
    expect(allowed.filter((a) => !isPublicAddress(a))).toEqual([]);
  });

  it('in production refuses a private address, by literal or by a name that resolves to it; allowed in development', async () => {
    const strict = outboundFetch({ allowPrivate: false, maxBytes: 1024 });
    await expect(strict(`http://127.0.0.1:${port}/`)).rejects.toThrow(/not a public address/);
    await expect(strict(`http://[::ffff:127.0.0.1]:${port}/`)).rejects.toThrow();
    // localhost is a name: refused where it is resolved, before any connection.
    const byName = await strict(`http://localhost:${port}/`).then(() => 'fetched', (e: Error) => `${e.message} ${(e.cause as Error | undefined)?.message ?? ''}`);
    expect(byName).toMatch(/non-public address/);
    const open = outboundFetch({ allowPrivate: true, maxBytes: 1024 });
    const res = await open(`http://localhost:${port}/?bytes=10`);
    expect([res.status, await res.text()]).toEqual([200, 'a'.repeat(10)]);
  });

  it('reads an answer up to the limit and no further', async () => {
    const fetch = outboundFetch({ allowPrivate: true, maxBytes: 1024 });
    expect((await (await fetch(`http://127.0.0.1:${port}/?bytes=1024`)).arrayBuffer()).byteLength).toBe(1024);
    await expect(fetch(`http://127.0.0.1:${port}/?bytes=${2 * 1024 * 1024}`)).rejects.toThrow(/larger than 1024 bytes/);
  });
});
