// The sizing guide's figures (docs/sizing.md), from a standard run's CPU per request: what one
// vCPU of the gateway serves of each operation, and what PostgreSQL spends per 100 of them. CPU
// time is read from /proc for the gateway's process (all its threads: argon2's too) and for
// every PostgreSQL process on the machine, over the scenario's warm-up and measured seconds.

export interface SizingRow {
  scenario: string;
  door: string;
  gatewayCpuMs: string;
  postgresCpuMs: string;
}

/** Keycloak's published figures for the same operations (its sizing guide; argon2 at its defaults: 5 iterations, 7 MiB). */
const KEYCLOAK: Record<string, string> = {
  login: '15 per vCPU',
  refresh: '120 per vCPU',
};

export function sizingLines(rows: readonly SizingRow[], peakRssMb: number): string[] {
  const lines = [
    'Sizing, from this run (per vCPU: 1000 / the gateway\'s CPU ms per request; PostgreSQL: its CPU seconds per 100 requests, so per 100 requests/s the vCPUs it needs):',
    '',
    '| operation | door | per vCPU of the gateway, req/s | PostgreSQL vCPU per 100 req/s | Keycloak\'s guide |',
    '|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const perVcpu = 1000 / Number(r.gatewayCpuMs);
    const pg = (Number(r.postgresCpuMs) * 100) / 1000;
    lines.push(`| ${r.scenario} | ${r.door} | ${perVcpu >= 1000 ? Math.round(perVcpu / 100) * 100 : Math.round(perVcpu)} | ${pg.toFixed(2)} | ${KEYCLOAK[r.scenario] ?? '–'} |`);
  }
  lines.push('', `Memory per instance: peak RSS ${Math.round(peakRssMb)} MB over the whole run.`);
  return lines;
}
