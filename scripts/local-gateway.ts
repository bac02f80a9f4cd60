/**
 * The environment contract `npm start` and `npm run serve` share: EXTENSIONS_DIR (default config/examples), PORT
 * (default 8787), JWT_SECRET, JWKS_URL, JWT_ISSUER, JWT_AUDIENCE, CLUSTER_ORIGIN, CORE_ORIGIN, AUTH, AUTHZ,
 * SNAPSHOT_REFRESH_SECONDS. With the default
 * examples a demo upstream starts and, unless CLUSTER_ORIGIN is given, every in-cluster service maps to it.
 */
import { resolve } from 'node:path';
import { startDemoUpstream } from './demo-upstream';
import { formatSummary } from './exporter/report';
import { runExport } from './exporter/run';
import { directorySource } from './exporter/sources/directory';
import type { KvTarget } from './exporter/targets/kv-target';
import { DEFAULT_CLUSTER } from '../worker/model/snapshot';

export const DEFAULT_EXTENSIONS_DIR = 'config/examples';

export interface LocalGateway {
  port: string;
  /** Variables the worker gets; undefined ones are left out. */
  vars: Record<string, string>;
  close(): Promise<void>;
}

export async function prepareLocalGateway(env: NodeJS.ProcessEnv, target: KvTarget): Promise<LocalGateway> {
  const dir = env.EXTENSIONS_DIR || DEFAULT_EXTENSIONS_DIR;
  const demo = resolve(dir) === resolve(DEFAULT_EXTENSIONS_DIR) ? await startDemoUpstream(Number(env.DEMO_PORT || 0)) : undefined;
  const clusterOrigin = env.CLUSTER_ORIGIN || (demo ? `http://127.0.0.1:${demo.port}` : undefined);
  if (demo) console.log(`demo upstream on http://127.0.0.1:${demo.port} (in-cluster services map to it)`);
  try {
    const source = directorySource(dir);
    const summary = await runExport({ source, target, cluster: env.CLUSTER_NAME || DEFAULT_CLUSTER, clusterOrigin });
    console.log(formatSummary(summary, source.description, target.description));
  } catch (e) {
    await demo?.close();
    throw e;
  } finally {
    await target.close();
  }
  const all: Record<string, string | undefined> = {
    JWT_SECRET: env.JWT_SECRET,
    JWKS_URL: env.JWKS_URL,
    JWKS_CACHE_SECONDS: env.JWKS_CACHE_SECONDS,
    JWT_ISSUER: env.JWT_ISSUER,
    JWT_AUDIENCE: env.JWT_AUDIENCE,
    AUTHZ: env.AUTHZ,
    CLUSTER_ORIGIN: clusterOrigin,
    CORE_ORIGIN: env.CORE_ORIGIN,
    SNAPSHOT_REFRESH_SECONDS: env.SNAPSHOT_REFRESH_SECONDS,
    // Locally, no key means "authentication off", said explicitly (a deployment without a key fails closed).
    AUTH: env.AUTH || (env.JWT_SECRET || env.JWKS_URL ? undefined : 'none'),
  };
  const vars = Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => Boolean(e[1])));
  return { port: env.PORT || '8787', vars, close: async () => demo?.close() };
}

/** Runs a child until it exits or we are told to stop; then cleans up. */
export function superviseChild(child: import('node:child_process').ChildProcess, cleanup: () => Promise<void>): void {
  const stop = () => child.kill('SIGTERM');
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  child.on('exit', async (code) => {
    await cleanup();
    process.exit(code ?? 0);
  });
}
