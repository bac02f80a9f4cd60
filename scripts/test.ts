/**
 * `npm test`: type-check, then every vitest test; ends with one plain "N passed, N failed" line, which CI reads.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

const REPORT = '.test-results.json';
const tsc = spawnSync('npx', ['tsc', '-p', '.'], { stdio: 'inherit' });
if (tsc.status !== 0) {
  console.log('typecheck: 0 passed, 1 failed');
  process.exit(1);
}
rmSync(REPORT, { force: true });
const vitest = spawnSync('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${REPORT}`, ...process.argv.slice(2)], { stdio: 'inherit' });
let summary = 'tests: 0 passed, 1 failed';
try {
  const r = JSON.parse(readFileSync(REPORT, 'utf8')) as { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number };
  summary = `tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests + r.numTodoTests ? `, ${r.numPendingTests + r.numTodoTests} skipped` : '');
} catch {
  /* no report: vitest itself failed */
}
console.log(summary);
process.exit(vitest.status ?? 1);
