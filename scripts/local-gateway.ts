/**
 * The environment contract `npm start` and `npm run serve` share: EXTENSIONS_DIR (default config/examples), CLUSTERS
 * (fleet members, NAME=FOLDER,…), HOST_CLUSTER, PORT
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
import { reviewSettings } from '../worker/auth/review-settings';
import { CLUSTER_NAME, DEFAULT_CLUSTER, type ResourceReport } from '../worker/model/snapshot';

export const DEFAULT_EXTENSIONS_DIR = 'config/examples';

export interface LocalGateway {
  port: string;
  /** One example path per kind of route, from what was exported (printed once the gateway is up). */
  examples: { kind: string; path: string }[];
  /** Variables the worker gets; undefined ones are left out. */
  vars: Record<string, string>;
  close(): Promise<void>;
}

export async function prepareLocalGateway(env: NodeJS.ProcessEnv, target: KvTarget): Promise<LocalGateway> {
  const dir = env.EXTENSIONS_DIR || DEFAULT_EXTENSIONS_DIR;
  const demo = resolve(dir) === resolve(DEFAULT_EXTENSIONS_DIR) ? await startDemoUpstream(Number(env.DEMO_PORT || 0)) : undefined;
  const clusterOrigin = env.CLUSTER_ORIGIN || (demo ? `http://127.0.0.1:${demo.port}` : undefined);
  const examples: LocalGateway['examples'] = [];
  if (demo) console.log(`demo upstream on http://127.0.0.1:${demo.port} (in-cluster services map to it)`);
  try {
    // EXTENSIONS_DIR is the host; CLUSTERS=member1=DIR1,member2=DIR2 adds members, each exported as that cluster.
    const host = env.HOST_CLUSTER || env.CLUSTER_NAME || DEFAULT_CLUSTER;
    for (const [cluster, folder] of [[host, dir] as const, ...membersOf(env.CLUSTERS, host)]) {
      const source = directorySource(folder);
      const summary = await runExport({ source, target, cluster, clusterOrigin });
      console.log(formatSummary(summary, `${source.description} as cluster ${cluster}`, target.description));
      if (cluster === host) examples.push(...examplesOf(summary.resources));
    }
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
    HOST_CLUSTER: env.HOST_CLUSTER || (env.CLUSTER_NAME && env.CLUSTER_NAME !== DEFAULT_CLUSTER ? env.CLUSTER_NAME : undefined),
    CLUSTER_ORIGIN: clusterOrigin,
    CORE_ORIGIN: env.CORE_ORIGIN,
    SNAPSHOT_REFRESH_SECONDS: env.SNAPSHOT_REFRESH_SECONDS,
    TOKEN_REVIEW: env.TOKEN_REVIEW,
    TOKEN_REVIEW_SECONDS: env.TOKEN_REVIEW_SECONDS,
    TOKEN_REVIEW_TIMEOUT_MS: env.TOKEN_REVIEW_TIMEOUT_MS,
    // Locally, no key means "authentication off", said explicitly (a deployment without a key fails closed).
    AUTH: env.AUTH || (env.JWT_SECRET || env.JWKS_URL ? undefined : 'none'),
  };
  const vars = Object.fromEntries(Object.entries(all).filter((e): e is [string, string] => Boolean(e[1])));
  return { port: env.PORT || '8787', examples, vars, close: async () => demo?.close() };
}

/** The first Available route of each kind, as a path to try (a `*` becomes a sample segment). */
function examplesOf(resources: ResourceReport[]): LocalGateway['examples'] {
  const out: LocalGateway['examples'] = [];
  const first = (kind: string, label: string) => {
    const r = resources.find((x) => x.kind === kind && x.state === 'Available' && !x.problems.length && x.routes.length);
    const route = r?.routes[0]?.replace(/^[A-Z*]+ /, '').replace(/\*$/, kind === 'APIService' ? 'things' : 'hello');
    if (route) out.push({ kind: label, path: route });
  };
  first('JSBundle', 'bundle');
  first('APIService', 'API');
  first('ReverseProxy', 'proxy');
  out.push({ kind: 'status', path: '/_gateway/' });
  return out;
}

/**
 * Once the gateway answers: one URL to try per kind of route, and with a secret, how to mint a token for the demo
 * user. Waits (at most a minute) for /_gateway/healthz, so these are the last lines a newcomer sees.
 */
export async function announce(local: LocalGateway, secret: boolean): Promise<void> {
  const base = `http://127.0.0.1:${local.port}`;
  for (let i = 0; i < 240; i++) {
    try {
      if ((await fetch(`${base}/_gateway/healthz`)).status < 500) break;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  const auth = secret ? ' -H "Authorization: Bearer $(npm run -s token -- demo)"' : '';
  const lines = [`\nks-edge is ready on ${base}. Try:`];
  for (const e of local.examples) {
    lines.push(e.kind === 'status'
      ? `  status   ${base}${e.path} in a browser (JSON: curl${auth} ${base}/_gateway/status)`
      : `  ${e.kind.padEnd(8)} curl -i${e.kind === 'bundle' ? '' : auth} ${base}${e.path}`);
  }
  lines.push(secret
    ? '  Tokens: JWT_SECRET=… npm run -s token -- demo  (demo may read the demo extension; guest is refused with 403; see README)'
    : '  Authentication is off (no JWT_SECRET): every caller is anonymous. Set JWT_SECRET to try tokens and authorization.');
  if (secret) lines.push(`  ${tokenReviewLine(local.vars)}`);
  console.log(lines.join('\n'));
}

/** What start-up says of token review: on against which core, or off and why (docs/… Authentication). */
export function tokenReviewLine(vars: Record<string, string>): string {
  const s = reviewSettings(vars);
  if ('error' in s) return `Token review is misconfigured: ${s.error}`;
  if (s.mode === 'off') return `Token review is off (${s.why}).`;
  return `Token review: ${s.mode}; ${s.origin} confirms each token every ${s.ttlMs / 1000} s (timeout ${s.timeoutMs} ms).`;
}

/** `member1=DIR1,member2=DIR2` → pairs; a malformed entry is an error naming it. */
export function membersOf(text: string | undefined, host?: string): [string, string][] {
  if (!text) return [];
  const seen = new Set<string>();
  return text.split(',').map((entry) => {
    const eq = entry.indexOf('=');
    const [name, folder] = eq < 0 ? [entry, ''] : [entry.slice(0, eq).trim(), entry.slice(eq + 1).trim()];
    if (!CLUSTER_NAME.test(name) || !folder) throw new Error(`CLUSTERS entry ${JSON.stringify(entry)} is not NAME=FOLDER (NAME a DNS label)`);
    if (seen.has(name)) throw new Error(`CLUSTERS names ${JSON.stringify(name)} twice`);
    if (name === host) throw new Error(`CLUSTERS names the host cluster ${JSON.stringify(name)}, whose folder is EXTENSIONS_DIR`);
    seen.add(name);
    return [name, folder];
  });
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
