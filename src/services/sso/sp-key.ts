// A connection's secret as written: an OIDC client secret, or a SAML connection's own signing
// key (sign_requests), an RSA key and a self-signed certificate the gateway makes when the
// connection first asks to sign its AuthnRequests. Both are sealed at rest (the connection's
// secret column) and never returned; the certificate is public (the SP metadata names it).
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { Config } from '../../config.js';
import type { EntityManager } from '../../db/orm.js';
import { openClientSecret, sealClientSecret } from './client-secret.js';
import type { CheckedConnection } from './rules.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
const TEN_YEARS_MS = 3650 * 86_400_000;

/** A new key pair for connection `id`: its sealed private key (PKCS#8 PEM) and its certificate (PEM). */
export async function newSpKey(config: Pick<Config, 'secretKey'>, id: string, now: Date): Promise<{ sealedKey: string; certificate: string }> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=auth-gateway SAML SP ${createHash('sha256').update(id).digest('hex').slice(0, 16)}`,
    notBefore: now,
    notAfter: new Date(now.getTime() + TEN_YEARS_MS),
    keys,
    signingAlgorithm: ALGORITHM,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  const pem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
  return { sealedKey: sealClientSecret(config, pem), certificate: cert.toString('pem') };
}

export const openSpKey = (config: Pick<Config, 'secretKey'>, sealed: string) => openClientSecret(config, sealed);

/**
 * The sealed secret to write (undefined: keep the stored one). OIDC: the new client secret, if
 * any. SAML: the SP key when the connection signs its requests (kept once made, its certificate
 * copied into the new settings), none otherwise.
 */
export async function secretOf(
  tx: EntityManager,
  deps: { config: Pick<Config, 'secretKey'> },
  id: string,
  c: CheckedConnection,
  mode: 'insert' | 'update',
  now: Date,
): Promise<string | null | undefined> {
  if (c.type === 'oidc') return c.clientSecret === undefined ? undefined : sealClientSecret(deps.config, c.clientSecret);
  if (!c.settings.sign_requests) return null;
  const [stored] =
    mode === 'update'
      ? ((await tx.execute("select client_secret, settings->>'sp_certificate' as certificate from sso_connections where id = ? and type = 'saml'", [id])) as Array<{
          client_secret: string | null;
          certificate: string | null;
        }>)
      : [];
  if (stored?.client_secret && stored.certificate) {
    c.settings.sp_certificate = stored.certificate;
    return undefined;
  }
  const made = await newSpKey(deps.config, id, now);
  c.settings.sp_certificate = made.certificate;
  return made.sealedKey;
}
