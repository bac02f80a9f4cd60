/**
 * `npm start`: export EXTENSIONS_DIR into the local KV `wrangler dev` reads, then serve the worker with
 * `wrangler dev` on 127.0.0.1:$PORT. The environment contract is in local-gateway.ts.
 */
import { spawn } from 'node:child_process';
import { localTarget } from './exporter/targets/local';
import { announce, prepareLocalGateway, superviseChild } from './local-gateway';
import { WRANGLER_ENV } from './wrangler-env';

const persistTo = process.env.KS_EDGE_PERSIST_TO || '.wrangler/state';

async function main() {
  const local = await prepareLocalGateway(process.env, await localTarget({ persistRoot: `${persistTo}/v3` }));
  const args = ['wrangler', 'dev', '--ip', '127.0.0.1', '--port', local.port, '--persist-to', persistTo, '--show-interactive-dev-session=false'];
  for (const [k, v] of Object.entries(local.vars)) args.push('--var', `${k}:${v}`);
  superviseChild(spawn('npx', args, { stdio: 'inherit', env: { ...process.env, ...WRANGLER_ENV } }), local.close);
  await announce(local, Boolean(local.vars.JWT_SECRET));
}

main().catch((e: unknown) => {
  console.error(`npm start failed: ${(e as Error).message}`);
  process.exit(1);
});
