// The suite runs on Node 24 LTS (the `node` dev dependency that npm scripts put first on PATH), whatever the system Node is.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('runtime', () => {
  it('is the Node of the project\'s own node dev dependency', () => {
    const pinned = JSON.parse(readFileSync('package.json', 'utf8')).devDependencies.node as string;
    expect(process.versions.node).toBe(pinned);
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24);
  });
});

describe('the V8 flags the gateway runs with', () => {
  const startFlags = () => /^node ((?:--\S+ )*)dist\/src\/main\.js$/.exec(JSON.parse(readFileSync('package.json', 'utf8')).scripts.start)![1].trim().split(' ');

  it('are the same for npm start and the Docker image (the bench measures npm start\'s)', () => {
    const cmd = /^CMD (\[.*\])$/m.exec(readFileSync('Dockerfile', 'utf8'))![1];
    expect(JSON.parse(cmd)).toEqual(['node', ...startFlags(), 'dist/src/main.js']);
  });

  it('are accepted by this Node (it refuses an unknown one) and bound the young generation', () => {
    const semi = Number(/--max-semi-space-size=(\d+)/.exec(startFlags().join(' '))![1]);
    // Garbage with survivors grows the new space to its limit (V8's own: 128 MB on a 24 GiB
    // machine): two semi-spaces of at most the flag's size.
    const script =
      "const keep = new Array(300000); for (let i = 0; i < 2e7; i++) keep[i % 300000] = { i, s: 'x' + i }; process.stdout.write(String(require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size))";
    const capacity = Number(execFileSync(process.execPath, [...startFlags(), '-e', script], { encoding: 'utf8' }));
    expect(capacity).toBeGreaterThan(0);
    expect(capacity).toBeLessThanOrEqual(2 * semi * 2 ** 20);
    expect(() => execFileSync(process.execPath, ['--no-such-v8-flag', '-e', '0'], { stdio: 'ignore' })).toThrow();
  });
});
