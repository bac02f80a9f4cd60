/**
 * The multi-cluster forms of a KubeSphere path (SPEC §10): `/clusters/{c}/…` and the legacy
 * `/{kapis|apis|api}/clusters/{c}/…`. Returns the cluster and the path without the prefix, as ks-apiserver's
 * RequestInfo strips it; undefined for a path of no cluster.
 */
import { CLUSTER_NAME } from '../model/snapshot';

export interface ClusterPath { cluster: string; path: string }

export function clusterOfPath(path: string): ClusterPath | undefined {
  if (path.startsWith('/clusters/')) {
    const end = path.indexOf('/', 10);
    if (end < 0) return undefined;
    const cluster = path.slice(10, end);
    return CLUSTER_NAME.test(cluster) ? { cluster, path: path.slice(end) } : undefined;
  }
  const legacy = /^\/(kapis|apis|api)\/clusters\/([^/]+)(\/.*)$/.exec(path);
  if (!legacy || !CLUSTER_NAME.test(legacy[2]!)) return undefined;
  return { cluster: legacy[2]!, path: `/${legacy[1]}${legacy[3]}` };
}
