// Prints vitest's totals as the plain line CI reads: "N passed, M failed[, K skipped]".
import { existsSync, readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'test/artifacts/vitest.json';
if (!existsSync(file)) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const r = JSON.parse(readFileSync(file, 'utf8'));
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
const failed = r.numFailedTests + (r.numFailedTestSuites ?? 0);
console.log(`${r.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
// A failed test fails the run, whatever the runner's own exit code said.
process.exit(failed > 0 || r.success === false ? 1 : 0);
