/**
 * Which cluster's snapshot routes a request (SPEC §10): the host's for unprefixed paths; for `/clusters/{c}/…` and
 * `/{kapis|apis|api}/clusters/{c}/…`, the prefix is removed and routing goes on with the host's snapshot when `c` is
 * the host, with `c`'s when the edge has a snapshot for that member; any other cluster keeps the path as it is and
 * reaches CORE_ORIGIN, whose ks-apiserver decides as today.
 */
import type { Env } from '../env';
import type { RouteTable } from '../route-table';
import { clusterOfPath } from './cluster-prefix';
import { fleet, hostCluster } from './fleet';

export interface ClusterRoute { cluster: string; isHost: boolean; table: RouteTable | undefined; url: URL }

type Ctx = { waitUntil(p: Promise<unknown>): void };

export async function clusterRoute(env: Env, ctx: Ctx, url: URL): Promise<ClusterRoute> {
  const host = hostCluster(env);
  const named = url.pathname.includes('clusters/') ? clusterOfPath(url.pathname) : undefined;
  if (named && named.cluster !== host && named.cluster !== 'host') {
    const table = await fleet.member(env, ctx, named.cluster);
    if (table) {
      // The host's users authenticate member requests too: its snapshot must be at hand (warm: no KV read).
      await fleet.host(env).current(env, ctx);
      return { cluster: named.cluster, isHost: false, table, url: without(url, named.path) };
    }
  }
  const table = await fleet.host(env).current(env, ctx);
  const isHostPrefix = named && (named.cluster === host || named.cluster === 'host');
  return { cluster: host, isHost: true, table, url: isHostPrefix ? without(url, named.path) : url };
}

function without(url: URL, path: string): URL {
  const u = new URL(url);
  u.pathname = path;
  return u;
}
