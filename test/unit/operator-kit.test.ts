// The operator kit (alert rules, dashboard) only uses metrics the gateway exports, and the rules pass promtool.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

  it.runIf(promtool())('the alert rules pass promtool check rules', () => {
    const out = execFileSync('promtool', ['check', 'rules', 'docs/observability/alerts.yml'], { encoding: 'utf8' });
    expect(out).toContain('SUCCESS');
  });
});
