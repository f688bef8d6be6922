// Calls the gateway makes on a tenant's behalf (SPEC §13, and §11's discovery, JWKS and token
// calls): in production only to public addresses, checked when the name is resolved, and the
// connection goes to the address that was checked (undici's connect lookup: no second lookup, so
// DNS rebinding cannot slip in). Refused: loopback, 0.0.0.0/8, private, carrier-grade NAT,
// link-local, multicast, broadcast, IPv6 loopback, ULA, link-local, site-local, and the IPv4-
// mapped, IPv4-compatible, NAT64, 6to4 and Teredo forms that can reach any of them. Answers are read up to a size limit: a hostile server cannot make the gateway hold a
// gigabyte.
import { lookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import type { Agent } from 'undici';
import { lazy } from './lazy.js';

/** undici (its fetch takes a dispatcher that checks each connected address), loaded by the first outbound call. */
const undici = lazy(() => import('undici'));

const BLOCKED = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  // Documentation (TEST-NET-1..3) and the 6to4 relay anycast: no service of anyone's.
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  BLOCKED.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  // Unspecified, loopback and the IPv4-compatible forms (::a.b.c.d).
  ['::', 96],
  // NAT64 (which reaches IPv4 through a gateway), 6to4 and Teredo (which embed IPv4 addresses).
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['2002::', 16],
  ['2001::', 32],
  // SIIT's IPv4-translated form (::ffff:0:a.b.c.d), discard-only and documentation.
  ['::ffff:0:0:0', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  BLOCKED.addSubnet(net, bits, 'ipv6');
}

/** Whether an IP address is one the gateway may call in production (an IPv4-mapped IPv6 address is judged as its IPv4). */
export function isPublicAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const ip = mapped ?? address;
  const family = isIP(ip);
  if (!family) return false;
  return !BLOCKED.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

export class OutboundRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutboundRefused';
  }
}

export interface OutboundOptions {
  /** Development and tests: any address (WEBHOOK_ALLOW_PRIVATE, or outside production). */
  allowPrivate: boolean;
  /** The most bytes of an answer's body read. */
  maxBytes: number;
}

type Lookup = (hostname: string, options: object, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => void;

/** Resolves like dns.lookup, refusing a name with any address that is not public. */
const publicLookup: Lookup = (hostname, options, callback) => {
  lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const refused = addresses.find((a) => !isPublicAddress(a.address));
    if (refused) return callback(Object.assign(new OutboundRefused(`${hostname} resolves to a non-public address`), { code: 'EREFUSED' }), []);
    const all = (options as { all?: boolean }).all;
    return all ? callback(null, addresses) : callback(null, addresses[0].address, addresses[0].family);
  });
};

/** A fetch for outbound calls under `options`: addresses checked where they are connected to, bodies bounded (`maxBytes` 0: the body is not read at all). */
export function outboundFetch(options: OutboundOptions): (url: string | URL, init?: RequestInit) => Promise<Response> {
  let dispatcher: Agent | undefined;
  return async (url, init) => {
    const { Agent, fetch: undiciFetch } = await undici();
    if (!options.allowPrivate) dispatcher ??= new Agent({ connect: { lookup: publicLookup as never } });
    const target = new URL(url);
    // An address literal is never looked up: it is judged as it is.
    if (!options.allowPrivate && isIP(target.hostname.replace(/^\[|\]$/g, '')) && !isPublicAddress(target.hostname.replace(/^\[|\]$/g, ''))) {
      throw new OutboundRefused(`${target.hostname} is not a public address`);
    }
    const res = await undiciFetch(target, { ...(init as object), ...(dispatcher ? { dispatcher } : {}) } as never);
    if (options.maxBytes === 0) {
      await res.body?.cancel().catch(() => {});
      return new Response(null, { status: res.status, statusText: res.statusText, headers: res.headers as unknown as Headers });
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of res.body ?? []) {
      size += (chunk as Uint8Array).byteLength;
      if (size > options.maxBytes) {
        await res.body?.cancel().catch(() => {});
        throw new OutboundRefused(`the answer is larger than ${options.maxBytes} bytes`);
      }
      chunks.push(chunk as Uint8Array);
    }
    return new Response(res.status === 204 || res.status === 304 ? null : Buffer.concat(chunks), { status: res.status, statusText: res.statusText, headers: res.headers as unknown as Headers });
  };
}
