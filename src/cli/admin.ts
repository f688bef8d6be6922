// The admin command line (docs/operations.md, Admin CLI): npm run admin -- <command>. It talks to DATABASE_URL,
// or to the embedded PostgreSQL under the data folder when that is unset.
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig, readEnvironment, type Config } from '../config.js';
import { ensureDatabase, startEmbeddedPostgres } from '../db/embedded.js';
import { migrate, openDb, type Db } from '../db/orm.js';
import type { SignupPolicy } from '../db/entities/tenant.entity.js';
import { createRole, createTenant, createUser, setTenantSettings, setUserDisabled, setUserPassword } from '../services/operator/commands.js';
import { importDocument } from '../services/operator/import.js';
import { deleteConnection, listConnections, verifyDomain } from '../services/operator/sso.js';
import { AdminError, generatePassword } from '../services/operator/records.js';
import { createPasswordHasher } from '../services/passwords/hasher.js';

export const USAGE = `usage: npm run admin -- <command>

  migrate                                     apply pending database migrations
  tenant create <slug> --name <name> [--google-domains a.com,b.com] [--default-roles r1,r2]
                [--signup closed|open|domains] [--signup-domains a.com,b.com] [--app-url https://app.example]
                [--mfa-required-roles r1,r2]
  tenant set <slug> [--name <name>] [the same options as create]   change what is given, keep the rest
  role create <name> --tenant <slug> [--permissions p1,p2] [--force]
                                              a permission no operation checks and no role holds is refused without --force
  user create <email> --tenant <slug> [--roles r1,r2] [--password-stdin] [--disabled]
                                              without --password-stdin a password is generated and printed
  user password <email> --tenant <slug> [--password-stdin]
                                              set a new password (generated and printed without --password-stdin); ends the user's sessions
  user disable <email> --tenant <slug>        disabling also ends the user's sessions
  user enable <email> --tenant <slug>
  import <file.json>                          tenants, roles, users and SSO connections from one document (idempotent)
  sso list --tenant <slug>                    the tenant's SSO connections (an unverified domain ends in *)
  sso delete <name> --tenant <slug>           delete a connection (its domains and links go with it)
  sso verify <domain> --tenant <slug>         the operator vouches for a domain of one of the tenant's connections
`;

export interface AdminIo {
  out(line: string): void;
  readStdin(): Promise<string>;
}

const csv = (v: string | undefined) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);

/** Runs one admin command against an open database; answers the process exit code. */
export async function runAdmin(argv: string[], orm: Db, config: Config, io: AdminIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      tenant: { type: 'string' },
      'google-domains': { type: 'string' },
      'default-roles': { type: 'string' },
      signup: { type: 'string' },
      'signup-domains': { type: 'string' },
      'app-url': { type: 'string' },
      'mfa-required-roles': { type: 'string' },
      permissions: { type: 'string' },
      roles: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      disabled: { type: 'boolean' },
      force: { type: 'boolean' },
    },
  });
  const [area, verb, arg] = positionals;
  const em = orm.em.fork();
  const passwords = createPasswordHasher(config.password);
  // A password from standard input (never from argv, where `ps` would show it), or a generated one to print.
  const passwordInput = async () =>
    values['password-stdin'] === true
      ? { password: (await io.readStdin()).replace(/\r?\n$/, ''), generated: false }
      : { password: generatePassword(), generated: true };
  const need = (v: string | undefined, flag: string): string => {
    if (!v) throw new AdminError(`${flag} is required`);
    return v;
  };

  // Sign-up settings of `tenant create` / `tenant set`: only what was given.
  const signupSettings = () => ({
    ...(values.signup !== undefined ? { signup: values.signup as SignupPolicy } : {}),
    ...(values['signup-domains'] !== undefined ? { signupDomains: csv(values['signup-domains']) } : {}),
    ...(values['app-url'] !== undefined ? { appUrl: values['app-url'] === '' ? null : values['app-url'] } : {}),
    ...(values['mfa-required-roles'] !== undefined ? { mfaRequiredRoles: csv(values['mfa-required-roles']) } : {}),
  });

  const command = area === 'migrate' || area === 'import' ? area : `${area} ${verb ?? ''}`.trim();
  switch (command) {
    case 'migrate': {
      const applied = await migrate(orm);
      io.out(applied.length ? `applied: ${applied.join(', ')}` : 'the database is up to date');
      return 0;
    }
    case 'tenant create': {
      const t = await createTenant(em, {
        slug: need(verb && arg, 'the tenant slug'),
        name: need(values.name, '--name'),
        googleDomains: csv(values['google-domains']),
        defaultRoles: csv(values['default-roles']),
        ...signupSettings(),
      });
      io.out(`tenant ${t.slug} created (${t.id})`);
      return 0;
    }
    case 'tenant set': {
      const given = (flag: string) => (values[flag as keyof typeof values] === undefined ? undefined : csv(values[flag as keyof typeof values] as string));
      const t = await setTenantSettings(em, need(arg, 'the tenant slug'), {
        name: values.name,
        googleDomains: given('google-domains'),
        defaultRoles: given('default-roles'),
        ...signupSettings(),
      });
      io.out(`tenant ${t.slug}: signup ${t.signup}${t.signupDomains.length ? ` (${t.signupDomains.join(', ')})` : ''}, app_url ${t.appUrl ?? '(none)'}`);
      return 0;
    }
    case 'role create': {
      const r = await createRole(em, need(values.tenant, '--tenant'), need(arg, 'the role name'), csv(values.permissions), values.force === true);
      io.out(`role ${r.name} created in ${values.tenant} with ${r.permissions.length} permission(s)`);
      return 0;
    }
    case 'user create': {
      const { password, generated } = await passwordInput();
      const u = await createUser(em, passwords, {
        tenant: need(values.tenant, '--tenant'),
        email: need(arg, 'the e-mail'),
        password,
        roles: csv(values.roles),
        disabled: values.disabled === true,
      }, config);
      io.out(`user ${u.email} created in ${values.tenant} (${u.id})`);
      if (generated) io.out(`password: ${password}`);
      return 0;
    }
    case 'user password': {
      const { password, generated } = await passwordInput();
      await setUserPassword(em, passwords, need(values.tenant, '--tenant'), need(arg, 'the e-mail'), password, config);
      io.out(`password of ${arg} changed; their sessions were ended`);
      if (generated) io.out(`password: ${password}`);
      return 0;
    }
    case 'user disable':
    case 'user enable': {
      await setUserDisabled(em, need(values.tenant, '--tenant'), need(arg, 'the e-mail'), verb === 'disable');
      io.out(`user ${arg} ${verb}d`);
      return 0;
    }
    case 'sso list': {
      for (const line of await listConnections(em, need(values.tenant, '--tenant'))) io.out(line);
      return 0;
    }
    case 'sso delete': {
      await deleteConnection(em, need(values.tenant, '--tenant'), need(arg, 'the connection name'));
      io.out(`SSO connection ${arg} deleted`);
      return 0;
    }
    case 'sso verify': {
      await verifyDomain(em, need(values.tenant, '--tenant'), need(arg, 'the domain'), new Date());
      io.out(`domain ${arg} verified`);
      return 0;
    }
    case 'import': {
      const file = need(verb, 'the file');
      let doc: unknown;
      try {
        doc = JSON.parse(readFileSync(file, 'utf8'));
      } catch (e) {
        throw new AdminError(`cannot read ${file}: ${(e as Error).message}`);
      }
      const r = await importDocument(em, passwords, doc, { config, now: () => new Date() });
      io.out(`import done: ${r.created} created, ${r.updated} updated, ${r.unchanged} unchanged`);
      return 0;
    }
    default:
      io.out(USAGE);
      return area === undefined || area === 'help' ? 0 : 64;
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(): Promise<void> {
  const config = loadConfig(readEnvironment());
  const quiet = { info: () => {}, debug: () => {} };
  let databaseUrl = config.databaseUrl;
  // Beside a running `npm start`, its embedded server is joined (and left running).
  const embedded = databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir, quiet, 'pg', { join: true });
  if (embedded) {
    await ensureDatabase(embedded.adminUrl, 'auth_gateway');
    databaseUrl = embedded.urlFor('auth_gateway');
  }
  const orm = await openDb(databaseUrl!, config.db);
  let code = 1;
  try {
    if (embedded) await migrate(orm);
    code = await runAdmin(process.argv.slice(2), orm, config, { out: (l) => process.stdout.write(`${l}\n`), readStdin });
  } catch (e) {
    if (!(e instanceof AdminError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))) throw e;
    process.stderr.write(`admin: ${(e as Error).message}\n`);
    code = 65;
  } finally {
    await orm.close();
    await embedded?.stop();
  }
  process.exit(code);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e) => {
    process.stderr.write(`admin: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
