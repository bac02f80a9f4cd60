/**
 * In-cluster upstreams (`*.svc`, `*.svc.cluster.local`, service references) cannot be reached from the edge. They
 * go through the CLUSTER service binding when bound, else through the CLUSTER_ORIGIN template
 * (`{scheme} {name} {namespace} {port} {host}`, and `{cluster}`: the fleet member whose snapshot routes), e.g. `https://{name}-{namespace}.tunnel.example.com` or
 * `http://127.0.0.1:{port}` locally. Unmapped, they fail with a 502 that names the missing setting.
 */
import type { Env } from '../env';
import { DEFAULT_CLUSTER, type Upstream } from '../model/snapshot';

export type Origin = { base: string; binding?: Fetcher } | { error: string };

/** Mapped origins by route upstream (objects of the loaded snapshot) and template: computed once, not per request. */
const mapped = new WeakMap<Upstream, { template: string; origin: Origin }>();

export function resolveOrigin(upstream: Upstream, env: Pick<Env, 'CLUSTER' | 'CLUSTER_ORIGIN'>, cluster = DEFAULT_CLUSTER): Origin {
  if (!upstream.cluster) return { base: upstream.origin };
  if (env.CLUSTER) return { base: upstream.origin, binding: env.CLUSTER };
  const template = (env.CLUSTER_ORIGIN ?? '').replaceAll('{cluster}', cluster);
  const hit = mapped.get(upstream);
  if (hit && hit.template === template) return hit.origin;
  const origin = mapTemplate(upstream, template);
  mapped.set(upstream, { template, origin });
  return origin;
}

function mapTemplate(upstream: Upstream, template: string): Origin {
  const c = upstream.cluster!;
  if (!template) {
    return { error: `upstream ${upstream.origin} is inside the cluster: set CLUSTER_ORIGIN or bind the CLUSTER service` };
  }
  const base = template.replace(/\{(scheme|name|namespace|port|host)\}/g, (_, k: keyof typeof c) => String(c[k]))
    .replace(/\/+$/, '');
  let parsed: URL | undefined;
  try {
    parsed = new URL(base);
  } catch {
    /* reported below */
  }
  if (parsed?.protocol !== 'http:' && parsed?.protocol !== 'https:') {
    return { error: `CLUSTER_ORIGIN ${JSON.stringify(template)} does not give a URL for ${upstream.origin}` };
  }
  return { base };
}
