/** The production bundle, exactly as `wrangler deploy` would upload it (`--dry-run --outdir`). */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { WRANGLER_ENV } from '../wrangler-env';

export function buildBundle(outdir = 'dist'): string {
  execFileSync('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', outdir], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...WRANGLER_ENV } });
  return join(outdir, 'index.js');
}
