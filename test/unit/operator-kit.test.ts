// The operator kit (alert rules, dashboard, compose, nginx) only uses metrics the gateway exports, the rules pass promtool, and the proxy in front is trusted alone.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createMetrics } from '../../src/observability/metrics.js';

const exported = async () => {
  const { registry } = createMetrics(() => ({ used: 0, free: 0, pendingAcquires: 0, pendingCreates: 0 }));
  return new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
};
const referenced = (exprs: string[]) =>
  new Set(exprs.flatMap((e) => [...e.replace(/"[^"]*"/g, '').matchAll(/\b(auth_[a-z_]+)/g)].map((m) => m[1].replace(/_(bucket|count|sum)$/, ''))));

function promtool(): string | null {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return 'promtool';
  } catch {
    return null;
  }
}

function dockerCompose(): boolean {
  try {
    execFileSync('docker-compose', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('operator kit', () => {
  it('alert rules reference only exported metrics and labels from the catalog', async () => {
    const doc = parse(readFileSync('docs/observability/alerts.yml', 'utf8'));
    const rules = doc.groups.flatMap((g: { rules: Array<{ alert: string; expr: string }> }) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(4);
    const names = await exported();
    for (const m of referenced(rules.map((r: { expr: string }) => r.expr))) expect(names, m).toContain(m);
    const exprs = rules.map((r: { expr: string }) => r.expr).join('\n');
    expect(exprs).toContain('class="dependency"');
    expect(exprs).toContain('code="auth_refresh_reused"');
  });

  it('the dashboard references only exported metrics', async () => {
    const dash = JSON.parse(readFileSync('docs/observability/grafana-dashboard.json', 'utf8'));
    const exprs = dash.panels.flatMap((p: { targets: Array<{ expr: string }> }) => p.targets.map((t) => t.expr));
    const names = await exported();
    for (const m of referenced(exprs)) expect(names, m).toContain(m);
    expect(exprs.some((e: string) => e.includes('by (code)'))).toBe(true);
  });

  it('nginx passes on only the client\'s own address and keeps /metrics inside', () => {
    const conf = readFileSync('deploy/nginx.conf', 'utf8');
    expect(conf).toMatch(/proxy_set_header X-Forwarded-For \$remote_addr;/);
    expect(conf).not.toContain('$proxy_add_x_forwarded_for');
    expect(conf).toMatch(/location = \/metrics \{\s*deny all;/);
  });

  it('compose trusts X-Forwarded-For from its nginx proxies\' fixed addresses only (the balancer, the forward-auth guard)', () => {
    const compose = parse(readFileSync('docker-compose.yml', 'utf8'));
    const proxies = [compose.services.lb, compose.services.guard].map((s) => s.networks.backend.ipv4_address);
    expect(compose.services.migrate.environment.TRUST_PROXY.split(',')).toEqual(proxies);
    expect(readFileSync('deploy/nginx-forward-auth.conf', 'utf8')).toMatch(/proxy_set_header X-Forwarded-For \$remote_addr;/);
    expect(compose.services.gateway.environment).toEqual(compose.services.migrate.environment);
  });

  it.runIf(dockerCompose())('docker-compose.yml validates (docker-compose config)', () => {
    const env = 'SECRET_KEY=x\nJWT_PRIVATE_KEYS=y\nJWT_ISSUER=https://a\nJWT_AUDIENCE=https://b\nPUBLIC_URL=https://a\nWEBAUTHN_RP_ID=example.com\nWEBAUTHN_ORIGINS=https://example.com\n';
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'gw-compose-')), '.env');
    writeFileSync(file, env);
    execFileSync('docker-compose', ['--env-file', file, '-f', 'docker-compose.yml', 'config', '-q'], { stdio: 'pipe' });
  });

  it.runIf(promtool())('the alert rules pass promtool check rules', () => {
    const out = execFileSync('promtool', ['check', 'rules', 'docs/observability/alerts.yml'], { encoding: 'utf8' });
    expect(out).toContain('SUCCESS');
  });
});
