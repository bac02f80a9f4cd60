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

interface Candidate { method: string; route: ReverseProxyRoute }

export interface ReverseProxyMatch { route: ReverseProxyRoute; matcher: string }

export class RouteTable {
  private readonly bundles = new Map<string, BundleAsset>();
  private readonly apiServices = new Map<string, APIServiceRoute>();
  private readonly exact = new Map<string, Candidate[]>();
  private readonly prefixes = new Map<string, Candidate[]>();
  private readonly prefixLengths: number[];
  private authzTable: AuthzTable | undefined;

  /** The snapshot's authorization data, indexed on first use (a cold isolate routes first); undefined without any. */
  get authz(): AuthzTable | undefined {
    if (!this.authzTable && this.snapshot.authz) this.authzTable = new AuthzTable(this.snapshot.authz);
    return this.authzTable;
  }

  constructor(readonly snapshot: Snapshot, readonly hash: string) {
    for (const asset of snapshot.bundles) if (!this.bundles.has(asset.link)) this.bundles.set(asset.link, asset);
    for (const api of snapshot.apiServices) this.apiServices.set(`${api.group}/${api.version}`, api);
    const lengths = new Set<number>();
    for (const route of snapshot.reverseProxies) {
      for (const m of route.matchers) {
        const isPrefix = m.path.endsWith('*');
        const key = isPrefix ? m.path.slice(0, -1) : m.path;
        const map = isPrefix ? this.prefixes : this.exact;
        if (isPrefix) lengths.add(key.length);
        let list = map.get(key);
        if (!list) map.set(key, (list = []));
        list.push({ method: m.method, route });
      }
    }
    for (const list of [...this.exact.values(), ...this.prefixes.values()]) list.sort(byPriority);
    this.prefixLengths = [...lengths].sort((a, b) => b - a);
  }

  matchBundle(path: string): BundleAsset | undefined {
    const link = bundleLinkOf(path);
    return link === undefined ? undefined : this.bundles.get(link);
  }

  matchReverseProxy(path: string, method: string): ReverseProxyMatch | undefined {
    const exact = this.exact.get(path);
    const hit = exact && pick(exact, method);
    if (hit) return { route: hit.route, matcher: path };
    for (const len of this.prefixLengths) {
      if (len > path.length) continue;
      const prefix = path.slice(0, len);
      const list = this.prefixes.get(prefix);
      const found = list && pick(list, method);
      if (found) return { route: found.route, matcher: prefix + '*' };
    }
    return undefined;
  }

  matchApiService(path: string): APIServiceRoute | undefined {
    const key = apiGroupVersionOf(path);
    return key === undefined ? undefined : this.apiServices.get(key);
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

function byPriority(a: Candidate, b: Candidate): number {
  const wa = a.method === '*' ? 1 : 0;
  const wb = b.method === '*' ? 1 : 0;
  if (wa !== wb) return wa - wb;
  return a.route.name < b.route.name ? -1 : a.route.name > b.route.name ? 1 : 0;
}
