/**
 * `npm run serve`: the production bundle (`wrangler deploy --dry-run` output) on plain workerd — no wrangler dev,
 * no debugger, no response buffering — with the same environment contract as `npm start` and a snapshot made by
 * the same exporter. Outbound traffic may reach loopback addresses only.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { filesTarget } from './exporter/targets/files';
import { buildBundle } from './serve/bundle';
import { announce, prepareLocalGateway, superviseChild } from './local-gateway';
import { compatibility, workerdBinary, writeWorkerdConfig } from './serve/workerd-config';

const stateDir = process.env.KS_EDGE_SERVE_DIR || '.wrangler/serve';

async function main() {
  const bundle = process.env.KS_EDGE_BUNDLE || buildBundle();
  mkdirSync(stateDir, { recursive: true });
  const kvDir = join(stateDir, 'kv');
  const local = await prepareLocalGateway(process.env, filesTarget(kvDir));
  const config = join(stateDir, 'config.capnp');
  // KS_EDGE_ISOLATES=N: N isolates of the gateway on PORT, PORT+1, … sharing the Durable Objects.
  const isolates = Number(process.env.KS_EDGE_ISOLATES || 1);
  if (!Number.isInteger(isolates) || isolates < 1 || isolates > 16) throw new Error(`KS_EDGE_ISOLATES must be a whole number from 1 to 16, got ${JSON.stringify(process.env.KS_EDGE_ISOLATES)}`);
  const fronts = Array.from({ length: isolates - 1 }, (_, i) => Number(local.port) + i + 1);
  await writeWorkerdConfig(config, {
    bundle, kvDir, port: Number(local.port), vars: local.vars, ...compatibility(), doDir: join(stateDir, 'do'), fronts,
  });
  mkdirSync(join(stateDir, 'do'), { recursive: true });
  console.log(`serving ${bundle} on plain workerd at http://127.0.0.1:${local.port}${fronts.map((p) => `, http://127.0.0.1:${p}`).join('')}`);
  superviseChild(spawn(workerdBinary(), ['serve', config], { stdio: 'inherit' }), local.close);
  await announce(local, Boolean(local.vars.JWT_SECRET));
}

main().catch((e: unknown) => {
  console.error(`npm run serve failed: ${(e as Error).message}`);
  process.exit(1);
});
