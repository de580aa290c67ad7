// A vitest reporter that ends the run with one plain line, `N passed, N failed, N skipped`, which
// CI reads to tell a run that executed tests from one that executed none.
import type { Reporter, TestModule } from 'vitest/node';

/** Prints the plain closing line after vitest's own summary. */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: readonly TestModule[]): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
    }
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
