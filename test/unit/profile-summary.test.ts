// The bench's profile summary: self time by place and function, idle left out.
import { describe, expect, it } from 'vitest';
import { placeOf, summariseProfile } from '../../bench/profile.js';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

describe('profile summary', () => {
  it('names the place of a frame: package, Node module, gateway directory or V8', () => {
    expect(placeOf(frame('query', 'file:///app/node_modules/pg/lib/client.js'))).toBe('pg');
    expect(placeOf(frame('x', 'file:///app/node_modules/@apollo/server/dist/esm/runHttpQuery.js'))).toBe('@apollo/server');
    expect(placeOf(frame('x', 'file:///app/node_modules/a/node_modules/fast-json-stringify/index.js'))).toBe('fast-json-stringify');
    expect(placeOf(frame('writeGeneric', 'node:internal/stream_base_commons'))).toBe('node:internal/stream_base_commons');
    expect(placeOf(frame('x', 'file:///app/dist/src/services/sessions/refresh.js'))).toBe('gateway src/services/sessions');
    expect(placeOf(frame('x', 'file:///app/dist/src/app.js'))).toBe('gateway src');
    expect(placeOf(frame('(garbage collector)'))).toBe('(garbage collector)');
    expect(placeOf(frame('JSONStringify'))).toBe('(V8 builtins and native code)');
  });

  it('sums each sample\'s time into its node, leaving idle out of the shares', () => {
    const profile = {
      startTime: 100,
      nodes: [
        { id: 1, callFrame: frame('(root)') },
        { id: 2, callFrame: frame('(idle)') },
        { id: 3, callFrame: frame('query', 'file:///app/node_modules/pg/lib/client.js', 9) },
        { id: 4, callFrame: frame('(garbage collector)') },
      ],
      // Each sample's time is the delta before the next one.
      samples: [3, 2, 3, 4, 2],
      timeDeltas: [0, 3000, 1000, 1000, 1000],
    };
    const s = summariseProfile(profile);
    expect(s.busyMs).toBe(5);
    expect(s.idleMs).toBe(1);
    expect(s.places).toEqual([
      { place: 'pg', ms: 4, share: 0.8 },
      { place: '(garbage collector)', ms: 1, share: 0.2 },
    ]);
    expect(s.functions[0]).toEqual({ name: 'query:10', place: 'pg', ms: 4, share: 0.8 });
  });

  it('keeps only the samples inside the given windows (the scenarios)', () => {
    const profile = {
      startTime: 1000,
      nodes: [
        { id: 1, callFrame: frame('compile', 'node:internal/modules/cjs/loader') },
        { id: 2, callFrame: frame('query', 'file:///app/node_modules/pg/lib/client.js') },
      ],
      // Samples at 1000, 3000, 4000 and 5000 µs; each lasts till the next.
      samples: [1, 1, 2, 2],
      timeDeltas: [0, 2000, 1000, 1000],
    };
    expect(summariseProfile(profile, 15, []).places).toEqual([
      { place: 'node:internal/modules', ms: 3, share: 0.75 },
      { place: 'pg', ms: 1, share: 0.25 },
    ]);
    expect(summariseProfile(profile, 15, [[3500, 6000]]).places).toEqual([{ place: 'pg', ms: 1, share: 1 }]);
    expect(summariseProfile(profile, 15, [[0, 2000], [4000, 4500]]).places).toEqual([
      { place: 'node:internal/modules', ms: 2, share: 2 / 3 },
      { place: 'pg', ms: 1, share: 1 / 3 },
    ]);
  });
});
