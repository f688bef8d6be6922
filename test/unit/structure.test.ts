// The shape ARCHITECTURE.md asks for, read from the source: files fit on a screen or two, the
// service layer never reaches up to the doors or to observability, and no imports run in a
// circle, between files or between the capability folders of src/services.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve('src');
const files: string[] = [];
const walk = (dir: string) => {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) walk(full);
    else if (name.endsWith('.ts')) files.push(path.relative(SRC, full));
  }
};
walk(SRC);

/** Each file's relative imports (static, re-exports and dynamic), as paths under src/. */
const imports = new Map<string, string[]>(
  files.map((file) => {
    const text = readFileSync(path.join(SRC, file), 'utf8');
    const targets = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*)'(\.{1,2}\/[^']+)'/g)].map((m) => path.normalize(path.join(path.dirname(file), m[1].replace(/\.js$/, '.ts'))));
    return [file, targets];
  }),
);

/** The cycles of a directed graph (one per strongly connected component of more than one node). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('source structure', () => {
  it('keeps every file at or under 250 lines, except the error catalog, the operations table and migrations', () => {
    const exempt = (f: string) => f === path.join('errors', 'catalog.ts') || f === path.join('api', 'operations.ts') || f.startsWith(path.join('db', 'migrations'));
    const long = files.filter((f) => !exempt(f)).map((f) => [f, readFileSync(path.join(SRC, f), 'utf8').split('\n').length - 1] as const).filter(([, n]) => n > 250);
    expect(long).toEqual([]);
  });

  it('keeps the service layer below the doors and observability, and errors/, db/ and the configuration as leaves', () => {
    const above = ['rest', 'graphql', 'observability', 'demo', 'cli', 'api', 'app.ts', 'context.ts', 'main.ts'];
    const wrong: string[] = [];
    for (const [file, targets] of imports) {
      const layer = file.split(path.sep)[0];
      for (const target of targets) {
        const top = target.split(path.sep)[0];
        if (layer === 'services' && above.includes(top)) wrong.push(`${file} -> ${target}`);
        if (['errors', 'db'].includes(layer) && !['errors', 'db', 'config.ts', 'config-types.ts', 'config-parse.ts'].includes(top)) wrong.push(`${file} -> ${target}`);
        if (layer.startsWith('config') && !top.startsWith('config')) wrong.push(`${file} -> ${target}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('has no circle of imports between files', () => {
    const graph = new Map([...imports].map(([f, ts]) => [f, new Set(ts)]));
    expect(cycles(graph)).toEqual([]);
  });

  it('has no circle of imports between the capability folders of src/services', () => {
    const folderOf = (f: string) => {
      const parts = f.split(path.sep);
      return parts[0] === 'services' && parts.length > 2 ? parts[1] : undefined;
    };
    const graph = new Map<string, Set<string>>();
    for (const [file, targets] of imports) {
      const from = folderOf(file);
      if (!from) continue;
      for (const target of targets) {
        const to = folderOf(target);
        if (to && to !== from) graph.set(from, (graph.get(from) ?? new Set()).add(to));
      }
    }
    expect(graph.size).toBeGreaterThan(10);
    expect(cycles(graph)).toEqual([]);
  });
});
