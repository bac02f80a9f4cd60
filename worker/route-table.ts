/**
 * The route table: matched per request with map look-ups only, built as requests need it.
 *
 * - JSBundle links: exact path → asset.
 * - APIService: `group/version` → route.
 * - ReverseProxy: matchers by route key (a path's first two segments; model/snapshot-layout.ts). Under a key,
 *   exact paths in one map and `prefix*` matchers in a map per prefix, probed from the longest prefix length that
 *   fits the request path downwards. Candidates at one path are pre-sorted: a named method before `*`, then by
 *   name, so the first method match is the winner.
 */
import { AuthzTable } from './authz/rbac';
import { decodeBytes } from './authz/request-info';
import type { APIServiceRoute, BundleAsset, ReverseProxyRoute, Snapshot } from './model/snapshot';
import { materialize, partsOf, type SnapshotParts } from './snapshot/snapshot-parts';
import { routeKey, SHORT_PREFIXES } from './model/snapshot-layout';

/** A matcher's method and its route's position in index order (by name: the tie-break). */
interface Candidate { method: string; route: number }

/** The matchers under one route key, as maps: exact paths, and prefixes probed from the longest length down. */
interface Bucket { exact: Map<string, Candidate[]>; prefixes: Map<string, Candidate[]>; lengths: number[] }

export interface ReverseProxyMatch { route: ReverseProxyRoute; matcher: string }

/**
 * Built on use, a route key at a time (snapshot/lazy-part.ts: a reader throws `NotLoaded` on a cold isolate until
 * the chunk it needs is read, and callers go through `readOrLoad`). Buckets are kept only for keys the snapshot
 * has, so the paths clients make up cannot grow the table.
 */
export class RouteTable {
  private readonly buckets = new Map<string, Bucket>();
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

  constructor(readonly parts: SnapshotParts, readonly hash: string) {}

  /** The whole snapshot (every part read): the status page. */
  snapshot(): Promise<Snapshot> {
    return materialize(this.parts);
  }

  matchBundle(path: string): BundleAsset | undefined {
    const link = bundleLinkOf(path);
    return link === undefined ? undefined : this.parts.bundles.get(link);
  }

  /** Exact paths first, then the longest prefix (the path's own key before the short prefixes). */
  matchReverseProxy(path: string, method: string): ReverseProxyMatch | undefined {
    const own = this.bucket(routeKey(path));
    const exact = own?.exact.get(path);
    const hit = exact && pick(exact, method);
    if (hit) return { route: this.parts.reverseProxies.at(hit.route)!, matcher: path };
    const found = own && this.matchPrefix(own, path, method);
    if (found) return found;
    const short = this.bucket(SHORT_PREFIXES);
    return short && this.matchPrefix(short, path, method);
  }

  private matchPrefix(b: Bucket, path: string, method: string): ReverseProxyMatch | undefined {
    for (const len of b.lengths) {
      if (len > path.length) continue;
      const prefix = path.slice(0, len);
      const list = b.prefixes.get(prefix);
      const found = list && pick(list, method);
      if (found) return { route: this.parts.reverseProxies.at(found.route)!, matcher: prefix + '*' };
    }
    return undefined;
  }

  private bucket(key: string): Bucket | undefined {
    const known = this.buckets.get(key);
    if (known) return known;
    const matchers = this.parts.routeIndex.get(key);
    if (!matchers) return undefined;
    const b: Bucket = { exact: new Map(), prefixes: new Map(), lengths: [] };
    const lengths = new Set<number>();
    for (const [path, method, route] of matchers) {
      const isPrefix = path.endsWith('*');
      const k = isPrefix ? path.slice(0, -1) : path;
      const map = isPrefix ? b.prefixes : b.exact;
      if (isPrefix) lengths.add(k.length);
      let list = map.get(k);
      if (!list) map.set(k, (list = []));
      list.push({ method, route });
    }
    for (const list of b.exact.values()) if (list.length > 1) list.sort(byPriority);
    for (const list of b.prefixes.values()) if (list.length > 1) list.sort(byPriority);
    b.lengths = [...lengths].sort((x, y) => y - x);
    this.buckets.set(key, b);
    return b;
  }

  matchApiService(path: string): APIServiceRoute | undefined {
    const key = apiGroupVersionOf(path);
    const i = key === undefined ? undefined : this.parts.apiServiceIndex.get(key);
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
