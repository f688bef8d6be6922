// npm run keys: prints a fresh SECRET_KEY and JWT_PRIVATE_KEYS (a signing key and an RS256 key for
// ID tokens) for a .env file or a secret store.
import { randomBytes } from 'node:crypto';
import { generateIdTokenKey, generateSigningKey } from '../config.js';

const alg = process.argv[2] === 'ES256' ? 'ES256' : 'EdDSA';
process.stdout.write(`SECRET_KEY=${randomBytes(32).toString('base64url')}\n`);
// The first key signs the gateway's tokens; the RS256 one signs the OpenID Provider's ID tokens only.
process.stdout.write(`JWT_PRIVATE_KEYS='${JSON.stringify({ keys: [generateSigningKey(alg), generateIdTokenKey()] })}'\n`);
