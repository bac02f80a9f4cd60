/** Builds the production bundle once (wrangler deploy --dry-run), which every workerd-backed test runs. */
import { execFileSync } from 'node:child_process';
import { WRANGLER_ENV } from '../../scripts/wrangler-env';

export default function setup(): void {
  execFileSync('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', 'dist'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ...WRANGLER_ENV },
  });
}
