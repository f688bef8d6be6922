import { defineConfig } from 'vitest/config';
import LongestFirst from './test/helpers/sequencer.js';

export default defineConfig({
  // One copy of graphql in the module graph, or `instanceof GraphQLError` silently fails.
  resolve: { alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }] },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    setupFiles: ['reflect-metadata'],
    pool: 'forks',
    // The files mostly wait on sockets, timeouts and PostgreSQL: four at a time on 2 cores.
    maxWorkers: 4,
    // Files share a worker's module graph: each file still starts its own gateways and databases.
    isolate: false,
    // A fresh clone has no durations cached: the long files are named (test/helpers/sequencer.ts).
    sequence: { sequencer: LongestFirst },
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'test/artifacts/vitest.json' },
  },
});
