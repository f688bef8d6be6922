// npm run keys: prints a fresh SECRET_KEY and JWT_PRIVATE_KEYS for a .env file or a secret store.
import { randomBytes } from 'node:crypto';
import { generateSigningKey } from '../config.js';

const alg = process.argv[2] === 'ES256' ? 'ES256' : 'EdDSA';
process.stdout.write(`SECRET_KEY=${randomBytes(32).toString('base64url')}\n`);
process.stdout.write(`JWT_PRIVATE_KEYS='${JSON.stringify({ keys: [generateSigningKey(alg)] })}'\n`);
