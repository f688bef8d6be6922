// Loads config, opens the database (embedded when DATABASE_URL is unset), builds the
// app, listens, and shuts down cleanly on SIGTERM/SIGINT.
import 'reflect-metadata';
import pino from 'pino';
import { buildApp } from './app.js';
import { ConfigError, loadConfig, readEnvironment } from './config.js';
import { ensureDatabase, startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js';
import { migrate, openDb } from './db/orm.js';
import { DEMO_ADMIN_EMAIL, DEMO_TENANT, ensureDemoTenant } from './services/operator/demo.js';
import { createPasswordHasher } from './services/passwords/hasher.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(readEnvironment());
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`auth-gateway: configuration error: ${e.message}\n`);
      process.exit(78);
    }
    throw e;
  }
  const log = pino({ level: config.logLevel });

  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    embedded = await startEmbeddedPostgres(config.dataDir, log);
    await ensureDatabase(embedded.adminUrl, 'auth_gateway');
    databaseUrl = embedded.urlFor('auth_gateway');
  }

  const orm = await openDb(databaseUrl, config.db, log);
  if (config.migrateOnStart) {
    const applied = await migrate(orm);
    if (applied.length) log.info({ migrations: applied }, 'migrations applied');
  }
  if (embedded) {
    const password = await ensureDemoTenant(orm.em.fork(), createPasswordHasher(config.password), config.accounts.appUrl);
    if (password) {
      // Printed once, to the terminal only (never to the JSON log): it is not stored anywhere.
      process.stdout.write(
        `\n  Demo tenant "${DEMO_TENANT}" created. Admin: ${DEMO_ADMIN_EMAIL}  password: ${password}\n  (shown once; set another with: npm run admin -- user password ${DEMO_ADMIN_EMAIL} --tenant ${DEMO_TENANT} --password-stdin)\n\n`,
      );
    }
  }

  const gateway = await buildApp(config, orm);
  const address = await gateway.app.listen({ host: config.host, port: config.port });
  gateway.app.log.info(
    { graphql: `${address}/graphql`, rest: `${address}/auth`, sandbox: config.graphql.sandbox },
    `auth gateway listening: GraphQL${config.graphql.sandbox ? ' + Apollo Sandbox' : ''} at ${address}/graphql, REST shim at ${address}/auth/*`,
  );
  // Log lines are buffered (up to 250 ms, log-destination.ts): the start line goes out now,
  // for people and supervisors waiting on it.
  (gateway.app.log as unknown as pino.Logger).flush();
  if (config.demoPage) {
    // Passkeys refuse an IP address as their relying party: the demo page on localhost.
    process.stdout.write(`\n  Demo sign-in page: http://localhost:${new URL(address).port}/demo\n\n`);
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    gateway.app.log.info({ signal }, 'shutting down: readiness is now false');
    const deadline = setTimeout(() => {
      gateway.app.log.error('shutdown deadline passed; exiting');
      (gateway.app.log as unknown as pino.Logger).flush(() => process.exit(1));
    }, config.shutdownTimeoutMs);
    deadline.unref();
    gateway.stopAccepting();
    // Give load balancers time to see /readyz fail before the listener closes.
    await new Promise((resolve) => setTimeout(resolve, config.shutdownReadyDelayMs));
    gateway.app.log.info('closing: refusing new connections, finishing in-flight requests');
    await gateway.app.close();
    await orm.close();
    await embedded?.stop();
    gateway.app.log.info('shut down cleanly');
    (gateway.app.log as unknown as pino.Logger).flush(() => process.exit(0));
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`auth-gateway: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
