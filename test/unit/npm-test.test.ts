/**
 * scripts/test-summary.ts and scripts/test-prerequisites.ts: `npm test`'s closing line counts a suite whose set-up
 * failed (vitest counts no failed test for it), and a machine without Chromium gets one line naming the command.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prerequisites } from '../../scripts/test-prerequisites';
import { summarize } from '../../scripts/test-summary';

describe('the closing line', () => {
  it('counts a suite that failed to set up as failed, as vitest itself reports it', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'npm-test-')), 'report.json');
    const run = spawnSync('npx', ['vitest', 'run', '--config', 'test/fixtures/npm-test/vitest.config.ts', '--reporter=json', `--outputFile.json=${out}`], { encoding: 'utf8' });
    expect(run.status).not.toBe(0);
    const { line, failed } = summarize(readFileSync(out, 'utf8'), run.status);
    expect(line).toMatch(/^tests: 1 passed, 1 failed, 1 skipped$/);
    expect(failed.join()).toContain('setup-fails.suite.ts');
  }, 60_000);

  it('no report, or a failing exit with nothing counted, is never "0 failed"', () => {
    expect(summarize(undefined, 1).line).toBe('tests: 0 passed, 1 failed');
    const clean = JSON.stringify({ numPassedTests: 3, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0, success: false, testResults: [] });
    expect(summarize(clean, 1).line).toBe('tests: 3 passed, 1 failed');
    expect(summarize(clean.replace('"success":false', '"success":true'), 0).line).toBe('tests: 3 passed, 0 failed');
  });
});

describe('prerequisites', () => {
  it('without root or apt, one line names the command to run', () => {
    const line = prerequisites({ chromium: '/nonexistent/chromium', root: false, apt: true });
    expect(line).toMatch(/^npm test needs chromium.*: run `sudo apt-get update && apt-get install -y chromium/);
    expect(line).not.toContain('\n');
    expect(prerequisites({ chromium: '/nonexistent/chromium', root: true, apt: false })).toContain('needs chromium');
  });
  it('a machine that has everything needs nothing', () => {
    expect(prerequisites({ chromium: process.execPath, root: false, apt: false })).toBeUndefined();
  });
});
