/**
 * In-cluster upstreams (`*.svc`, `*.svc.cluster.local`, service references) cannot be reached from the edge. They
 * go through the CLUSTER service binding when bound, else through the CLUSTER_ORIGIN template
 * (`{scheme} {name} {namespace} {port} {host}`), e.g. `https://{name}-{namespace}.tunnel.example.com` or
 * `http://127.0.0.1:{port}` locally. Unmapped, they fail with a 502 that names the missing setting.
 */
import type { Env } from '../env';
import type { Upstream } from '../model/snapshot';

export type Origin = { base: string; binding?: Fetcher } | { error: string };

export function resolveOrigin(upstream: Upstream, env: Pick<Env, 'CLUSTER' | 'CLUSTER_ORIGIN'>): Origin {
  const c = upstream.cluster;
  if (!c) return { base: upstream.origin };
  if (env.CLUSTER) return { base: upstream.origin, binding: env.CLUSTER };
  if (!env.CLUSTER_ORIGIN) {
    return { error: `upstream ${upstream.origin} is inside the cluster: set CLUSTER_ORIGIN or bind the CLUSTER service` };
  }
  const base = env.CLUSTER_ORIGIN.replace(/\{(scheme|name|namespace|port|host)\}/g, (_, k: keyof typeof c) => String(c[k]))
    .replace(/\/+$/, '');
  try {
    new URL(base);
  } catch {
    return { error: `CLUSTER_ORIGIN ${JSON.stringify(env.CLUSTER_ORIGIN)} does not give a URL for ${upstream.origin}` };
  }
  return { base };
}
