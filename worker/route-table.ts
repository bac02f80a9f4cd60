/**
 * The route table: built once per snapshot, then matched per request with map look-ups only.
 *
 * - JSBundle links: exact path → asset.
 * - APIService: `group/version` → route.
 * - ReverseProxy: exact paths in one map; `prefix*` matchers in a map per prefix, probed from the longest prefix
 *   length that fits the request path downwards (a handful of distinct lengths in practice). Candidates at one
 *   path are pre-sorted: a named method before `*`, then by name, so the first method match is the winner.
 */
import { AuthzTable } from './authz/rbac';
import { decodeBytes } from './authz/request-info';
import type { APIServiceRoute, BundleAsset, ReverseProxyRoute, Snapshot } from './model/snapshot';
import { materialize, partsOf, type SnapshotParts } from './snapshot/snapshot-parts';

/** A matcher's method and its route's position in index order (by name: the tie-break). */
interface Candidate { method: string; route: number }

export interface ReverseProxyMatch { route: ReverseProxyRoute; matcher: string }

/**
 * Built from the snapshot's route index alone; a matched route's details come from its part, which throws
 * `NotLoaded` on a cold isolate until that chunk is read (callers go through `loaded`, snapshot/lazy-part.ts).
 */
export class RouteTable {
  private readonly apiServices = new Map<string, number>();
  private readonly exact = new Map<string, Candidate[]>();
  private readonly prefixes = new Map<string, Candidate[]>();
  private readonly prefixLengths: number[];
  private authzTable: AuthzTable | undefined;

  /** A table over a whole snapshot in memory (layout 1, tests). */
  static of(snapshot: Snapshot, hash: string): RouteTable {
    return new RouteTable(partsOf(snapshot), hash);
  }

  /** The snapshot's authorization data, indexed as it is used; undefined without any. */
  get authz(): AuthzTable | undefined {
    if (!this.authzTable && this.parts.authz) this.authzTable = new AuthzTable(this.parts.authz);
    return this.authzTable;
  }

  get cluster(): string {
    return this.parts.cluster;
  }

  constructor(readonly parts: SnapshotParts, readonly hash: string) {
    const { reverseProxies, apiServices } = parts.index;
    apiServices.forEach((key, i) => this.apiServices.set(key, i));
    const lengths = new Set<number>();
    for (let route = 0; route < reverseProxies.length; route++) {
      const m = reverseProxies[route]!;
      for (let k = 0; k + 1 < m.length; k += 2) {
        const path = m[k]!;
        const isPrefix = path.endsWith('*');
        const key = isPrefix ? path.slice(0, -1) : path;
        const map = isPrefix ? this.prefixes : this.exact;
        if (isPrefix) lengths.add(key.length);
        let list = map.get(key);
        if (!list) map.set(key, (list = []));
        list.push({ method: m[k + 1]!, route });
      }
    }
    for (const list of this.exact.values()) if (list.length > 1) list.sort(byPriority);
    for (const list of this.prefixes.values()) if (list.length > 1) list.sort(byPriority);
    this.prefixLengths = [...lengths].sort((a, b) => b - a);
  }

  /** The whole snapshot (every part read): the status page. */
  snapshot(): Promise<Snapshot> {
    return materialize(this.parts);
  }

  matchBundle(path: string): BundleAsset | undefined {
    const link = bundleLinkOf(path);
    return link === undefined ? undefined : this.parts.bundles.get(link);
  }

  matchReverseProxy(path: string, method: string): ReverseProxyMatch | undefined {
    const exact = this.exact.get(path);
    const hit = exact && pick(exact, method);
    if (hit) return { route: this.parts.reverseProxies.at(hit.route)!, matcher: path };
    for (const len of this.prefixLengths) {
      if (len > path.length) continue;
      const prefix = path.slice(0, len);
      const list = this.prefixes.get(prefix);
      const found = list && pick(list, method);
      if (found) return { route: this.parts.reverseProxies.at(found.route)!, matcher: prefix + '*' };
    }
    return undefined;
  }

  matchApiService(path: string): APIServiceRoute | undefined {
    const key = apiGroupVersionOf(path);
    const i = key === undefined ? undefined : this.apiServices.get(key);
    return i === undefined ? undefined : this.parts.apiServices.at(i);
  }
}

/**
 * The path routes are matched on: decoded, as KubeSphere matches `req.URL.Path`, except for encoded `/` and `\`,
 * which would change the path's segments (authorization decides on both readings; authz/guard.ts).
 */
export function routingPath(rawPath: string): string {
  return rawPath.includes('%') ? decodeBytes(rawPath.replace(/%(2f|5c)/gi, '%25$1')) : rawPath;
}

/**
 * The link a `/dist/...` path asks for; `/pstatic/dist/...` is the console's alias of `/dist/...`. Only under
 * `/dist/`: that is the path KubeSphere always allows, and bundles are served without authorization, so a link
 * elsewhere (`/distx/…`, `/dist`) is never served.
 */
export function bundleLinkOf(path: string): string | undefined {
  if (path.startsWith('/pstatic/dist/')) path = path.slice('/pstatic'.length);
  return path.startsWith('/dist/') ? path : undefined;
}

/** `group/version` of `/kapis/{group}/{version}/{at least one more segment}`; else undefined. */
export function apiGroupVersionOf(path: string): string | undefined {
  if (!path.startsWith('/kapis/')) return undefined;
  const g = path.indexOf('/', 7);
  if (g < 8) return undefined;
  const v = path.indexOf('/', g + 1);
  if (v < 0 || v === g + 1 || v === path.length - 1) return undefined;
  return path.slice(7, v);
}

function pick(list: Candidate[], method: string): Candidate | undefined {
  for (const c of list) if (c.method === method || c.method === '*') return c;
  return undefined;
}

/** A named method before `*`, then by name (index order). */
function byPriority(a: Candidate, b: Candidate): number {
  const wa = a.method === '*' ? 1 : 0;
  const wb = b.method === '*' ? 1 : 0;
  return wa !== wb ? wa - wb : a.route - b.route;
}
