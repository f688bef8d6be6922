// Better Auth as the bench's peer (npm run bench -- --peers): email and password with argon2id
// at the gateway's parameters (the same library, @node-rs/argon2), its JWT plugin for /token,
// its rate limiter off, telemetry off, its own PostgreSQL database (DATABASE_URL). Prints
// {"url": ...} once it listens; migrates its tables first (Better Auth's own migrator).
import http from 'node:http';
import { Algorithm, hash, verify } from '@node-rs/argon2';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { toNodeHandler } from 'better-auth/node';
import { jwt } from 'better-auth/plugins';
import pg from 'pg';

const ARGON = { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 };

const auth = betterAuth({
  database: new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 }),
  secret: process.env.BETTER_AUTH_SECRET,
  baseURL: 'http://127.0.0.1',
  emailAndPassword: {
    enabled: true,
    password: { hash: (password) => hash(password, ARGON), verify: ({ hash: stored, password }) => verify(stored, password) },
  },
  rateLimit: { enabled: false },
  telemetry: { enabled: false },
  plugins: [jwt()],
});

const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

const server = http.createServer(toNodeHandler(auth));
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` })}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
