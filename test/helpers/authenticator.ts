// A software WebAuthn authenticator (P-256, node:crypto, CBOR from @simplewebauthn/server's
// helpers) that answers the gateway's options like a browser would, with knobs to tamper.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

export interface Tamper {
  origin?: string;
  rpId?: string;
  type?: string;
  /** Authenticator-data flags; default UP | UV (| AT at registration). */
  flags?: number;
  /** Overrides the signature counter sent (default: the next one). */
  counter?: number;
  badSignature?: boolean;
  /** Override or drop (null) the userHandle of an assertion. */
  userHandle?: string | null;
  challenge?: string;
}

export const UP = 0x01;
export const UV = 0x04;
const AT = 0x40;

const b64u = (b: Uint8Array | Buffer) => Buffer.from(b).toString('base64url');
const sha256 = (b: Uint8Array | Buffer | string) => createHash('sha256').update(b).digest();

export interface StoredCredential {
  id: string;
  rawId: Buffer;
  privateKey: KeyObject;
  publicJwk: { x: string; y: string };
  userHandle: string;
  rpId: string;
  counter: number;
}

export class SoftAuthenticator {
  readonly credentials: StoredCredential[] = [];

  constructor(
    readonly origin = 'http://localhost:4000',
    readonly rpId = 'localhost',
  ) {}

  private authData(rpId: string, flags: number, counter: number, attested?: Buffer): Buffer {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter >>> 0);
    return Buffer.concat([sha256(rpId), Buffer.from([flags]), c, attested ?? Buffer.alloc(0)]);
  }

  private clientData(type: string, challenge: string, origin: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  }

  /** navigator.credentials.create(): answers PublicKeyCredentialCreationOptionsJSON with a RegistrationResponseJSON. */
  create(options: any, t: Tamper = {}): any {
    const rpId = t.rpId ?? options.rp?.id ?? this.rpId;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' }) as { x: string; y: string };
    const rawId = randomBytes(32);
    const cose = isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x, 'base64url')],
        [-3, Buffer.from(jwk.y, 'base64url')],
      ]) as any,
    );
    const idLen = Buffer.alloc(2);
    idLen.writeUInt16BE(rawId.length);
    const attested = Buffer.concat([Buffer.alloc(16), idLen, rawId, Buffer.from(cose)]);
    const counter = t.counter ?? 0;
    const authData = this.authData(rpId, (t.flags ?? UP | UV) | AT, counter, attested);
    const attestationObject = isoCBOR.encode(new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]) as any);
    const credential: StoredCredential = {
      id: b64u(rawId),
      rawId,
      privateKey,
      publicJwk: jwk,
      userHandle: options.user.id,
      rpId,
      counter,
    };
    this.credentials.push(credential);
    return {
      id: credential.id,
      rawId: credential.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64u(this.clientData(t.type ?? 'webauthn.create', t.challenge ?? options.challenge, t.origin ?? this.origin)),
        attestationObject: b64u(Buffer.from(attestationObject)),
        transports: ['internal'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /** navigator.credentials.get(): answers PublicKeyCredentialRequestOptionsJSON with an AuthenticationResponseJSON. */
  get(options: any, t: Tamper & { credential?: StoredCredential } = {}): any {
    const allowed: string[] = (options.allowCredentials ?? []).map((c: { id: string }) => c.id);
    const credential = t.credential ?? this.credentials.find((c) => allowed.length === 0 || allowed.includes(c.id));
    if (!credential) throw new Error('no credential for these options');
    const counter = t.counter ?? credential.counter + 1;
    credential.counter = Math.max(credential.counter, counter);
    const authData = this.authData(t.rpId ?? credential.rpId, t.flags ?? UP | UV, counter);
    const clientData = this.clientData(t.type ?? 'webauthn.get', t.challenge ?? options.challenge, t.origin ?? this.origin);
    let signature = sign('sha256', Buffer.concat([authData, sha256(clientData)]), credential.privateKey);
    if (t.badSignature) signature = sign('sha256', Buffer.from('something else'), credential.privateKey);
    const response: Record<string, unknown> = {
      clientDataJSON: b64u(clientData),
      authenticatorData: b64u(authData),
      signature: b64u(signature),
    };
    const handle = t.userHandle === undefined ? credential.userHandle : t.userHandle;
    if (handle !== null) response.userHandle = handle;
    return { id: credential.id, rawId: credential.id, type: 'public-key', response, clientExtensionResults: {}, authenticatorAttachment: 'platform' };
  }
}
