/**
 * `npm test`: the machine's prerequisites (installed when it can, else one line naming the command), the type-check,
 * then every vitest test; ends with one plain "N passed, N failed" line, which CI reads. A suite that fails to set
 * up, or an error outside any test, counts as failed: the line never says 0 failed when vitest did not pass.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { prerequisites } from './test-prerequisites';
import { summarize } from './test-summary';

const missing = prerequisites();
if (missing) {
  console.log(missing);
  console.log('tests: 0 passed, 1 failed');
  process.exit(1);
}

const REPORT = '.test-results.json';
const tsc = spawnSync('npx', ['tsc', '-p', '.'], { stdio: 'inherit' });
if (tsc.status !== 0) {
  console.log('typecheck: 0 passed, 1 failed');
  process.exit(1);
}
rmSync(REPORT, { force: true });
const vitest = spawnSync('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${REPORT}`, ...process.argv.slice(2)], { stdio: 'inherit' });

const { line: summary, failed } = summarize(existsSync(REPORT) ? readFileSync(REPORT, 'utf8') : undefined, vitest.status);
for (const f of failed) console.log(`failed suite: ${f}`);
console.log(summary);
process.exit(/ 0 failed/.test(summary) && vitest.status === 0 ? 0 : 1);
