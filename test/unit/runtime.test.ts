// The suite runs on Node 24 LTS (the `node` dev dependency that npm scripts put first on PATH), whatever the system Node is.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('runtime', () => {
  it('is the Node of the project\'s own node dev dependency', () => {
    const pinned = JSON.parse(readFileSync('package.json', 'utf8')).devDependencies.node as string;
    expect(process.versions.node).toBe(pinned);
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24);
  });
});
