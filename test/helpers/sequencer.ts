// The order files start in. Four workers share two cores, so the run ends when its longest
// files end: those start first (longest-first scheduling), the short ones fill the gaps.
// Vitest does this by itself from its cache of last durations, but a fresh clone (CI) has no
// cache and would start the long files last. The list is measured (npm test's JSON report,
// test/artifacts/vitest.json, endTime - startTime per file); it only changes wall time.
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const LONGEST_FIRST = [
  'test/integration/outage-matrix.test.ts',
  'test/e2e/demo-page.test.ts',
  'test/integration/mfa.test.ts',
  'test/integration/accounts.test.ts',
  'test/integration/hardening.test.ts',
  'test/integration/mail.test.ts',
  'test/integration/timing.test.ts',
  'test/integration/db-faults.test.ts',
  'test/integration/embedded-restart.test.ts',
  'test/integration/login-limits.test.ts',
  'test/integration/credential-kinds.test.ts',
  'test/integration/purge.test.ts',
  'test/integration/processes.test.ts',
  'test/integration/invitations.test.ts',
  'test/integration/api-keys.test.ts',
  'test/unit/timing-comparison.test.ts',
];

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => {
      const i = LONGEST_FIRST.findIndex((p) => f.moduleId.endsWith(p));
      return i < 0 ? LONGEST_FIRST.length : i;
    };
    const base = await super.sort(files);
    return base.map((f, i) => ({ f, i })).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i).map(({ f }) => f);
  }
}
