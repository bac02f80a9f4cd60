/**
 * The closing line of `npm test` from vitest's JSON report: a file whose set-up failed (it has no failed test of
 * its own) counts as one failure, and so does an error outside any test, so the line never says 0 failed when
 * vitest did not pass.
 */
interface Report {
  numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number; success: boolean;
  testResults: { name: string; status: string; message?: string; assertionResults: { status: string }[] }[];
}

export function summarize(report: string | undefined, vitestStatus: number | null): { line: string; failed: string[] } {
  let r: Report;
  try {
    r = JSON.parse(report ?? '') as Report;
  } catch {
    return { line: 'tests: 0 passed, 1 failed', failed: ['vitest wrote no report'] };
  }
  const broken = r.testResults.filter((f) => f.status === 'failed' && !f.assertionResults.some((a) => a.status === 'failed'));
  let failed = r.numFailedTests + broken.length;
  if (failed === 0 && (vitestStatus !== 0 || !r.success)) failed = 1;
  const skipped = r.numPendingTests + r.numTodoTests;
  return {
    line: `tests: ${r.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`,
    failed: broken.map((f) => `${f.name}${f.message ? `: ${f.message.split('\n')[0]}` : ''}`),
  };
}
