/**
 * `npm start`: export EXTENSIONS_DIR (default config/examples) into local KV, then serve the worker with
 * `wrangler dev` on 127.0.0.1:$PORT (default 8787). With the default examples a demo upstream starts too and,
 * unless CLUSTER_ORIGIN is given, every in-cluster service maps to it. JWT_SECRET, JWKS_URL, CLUSTER_ORIGIN,
 * CORE_ORIGIN, AUTH and SNAPSHOT_REFRESH_SECONDS reach the worker; without a key, AUTH defaults to none locally.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { startDemoUpstream } from './demo-upstream';
import { formatSummary } from './exporter/report';
import { runExport } from './exporter/run';
import { directorySource } from './exporter/sources/directory';
import { localTarget } from './exporter/targets/local';
import { WRANGLER_ENV } from './wrangler-env';

const DEFAULT_DIR = 'config/examples';
const env = process.env;
const dir = env.EXTENSIONS_DIR || DEFAULT_DIR;
const port = env.PORT || '8787';
const persistTo = env.KS_EDGE_PERSIST_TO || '.wrangler/state';

async function main() {
  const demo = resolve(dir) === resolve(DEFAULT_DIR) ? await startDemoUpstream(Number(env.DEMO_PORT || 0)) : undefined;
  const clusterOrigin = env.CLUSTER_ORIGIN || (demo ? `http://127.0.0.1:${demo.port}` : undefined);
  if (demo) console.log(`demo upstream on http://127.0.0.1:${demo.port} (in-cluster services map to it)`);

  const source = directorySource(dir);
  const target = await localTarget({ persistRoot: `${persistTo}/v3` });
  try {
    const summary = await runExport({ source, target, cluster: env.CLUSTER_NAME || 'local', clusterOrigin });
    console.log(formatSummary(summary, source.description, target.description));
  } finally {
    await target.close();
  }

  const vars: Record<string, string | undefined> = {
    JWT_SECRET: env.JWT_SECRET,
    JWKS_URL: env.JWKS_URL,
    CLUSTER_ORIGIN: clusterOrigin,
    CORE_ORIGIN: env.CORE_ORIGIN,
    SNAPSHOT_REFRESH_SECONDS: env.SNAPSHOT_REFRESH_SECONDS,
    AUTH: env.AUTH || (env.JWT_SECRET || env.JWKS_URL ? undefined : 'none'),
  };
  const args = ['wrangler', 'dev', '--ip', '127.0.0.1', '--port', port, '--persist-to', persistTo, '--show-interactive-dev-session=false'];
  for (const [k, v] of Object.entries(vars)) if (v) args.push('--var', `${k}:${v}`);
  const child = spawn('npx', args, { stdio: 'inherit', env: { ...env, ...WRANGLER_ENV } });
  const stop = () => child.kill('SIGTERM');
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  child.on('exit', async (code) => {
    await demo?.close();
    process.exit(code ?? 0);
  });
}

main().catch((e: unknown) => {
  console.error(`npm start failed: ${(e as Error).message}`);
  process.exit(1);
});
