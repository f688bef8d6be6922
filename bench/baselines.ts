// Limits of this machine, measured in the same run: argon2id verify capacity with as many
// parallel workers as cores, and a plain Fastify JSON server to compare the REST shim with.
import os from 'node:os';
import { Algorithm, hash, verify } from '@node-rs/argon2';
import Fastify from 'fastify';

const mode = process.argv[2];

if (mode === 'argon2') {
  const seconds = Number(process.argv[3] ?? 5);
  const options = { algorithm: Algorithm.Argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 };
  const stored = await hash('correct horse battery staple', options);
  const workers = os.availableParallelism();
  let done = 0;
  const until = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (Date.now() < until) {
        await verify(stored, 'correct horse battery staple');
        done++;
      }
    }),
  );
  process.stdout.write(JSON.stringify({ workers, verifiesPerSecond: done / seconds }));
} else if (mode === 'fastify') {
  const app = Fastify({ logger: false });
  app.get('/plain', async () => ({ id: '6f1c', email: 'user@bench.test', tenant: 'bench', roles: ['admin'], permissions: ['users:read'] }));
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`${address}\n`);
  process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
}
