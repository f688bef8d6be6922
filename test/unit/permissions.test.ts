// GATEWAY_PERMISSIONS is the list of permissions the gateway's operations check: every
// permission named by @Authorized(...), requirePermission(...) or a *_PERMISSION constant in
// src/ is on it, and nothing else (the admin CLI warns about names off it; the demo admin holds it).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_PERMISSIONS } from '../../src/services/operator/demo.js';
import { GATEWAY_PERMISSIONS } from '../../src/services/shared/permissions.js';

const sources = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => {
    const full = path.join(dir, n);
    return statSync(full).isDirectory() ? sources(full) : n.endsWith('.ts') ? [readFileSync(full, 'utf8')] : [];
  });

describe('GATEWAY_PERMISSIONS', () => {
  it('is exactly what the operations check', () => {
    const checked = new Set<string>();
    for (const text of sources(path.resolve('src'))) {
      for (const m of text.matchAll(/@Authorized\(([^)]*)\)/g)) for (const p of m[1].matchAll(/'([a-z_]+:[a-z_]+)'/g)) checked.add(p[1]);
      for (const m of text.matchAll(/requirePermission\([^)]*'([a-z_]+:[a-z_]+)'\)/g)) checked.add(m[1]);
      for (const m of text.matchAll(/_PERMISSION = '([a-z_]+:[a-z_]+)'/g)) checked.add(m[1]);
    }
    checked.delete('mfa:enroll'); // what a restricted session holds, never granted by a role
    expect([...checked].sort()).toEqual([...GATEWAY_PERMISSIONS].sort());
  });

  it('is what the demo admin holds', () => {
    expect([...DEMO_PERMISSIONS].sort()).toEqual([...GATEWAY_PERMISSIONS].sort());
  });
});
