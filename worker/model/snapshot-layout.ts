/**
 * How a `Snapshot` is stored (layout 2), so a cold isolate routes after reading a small header instead of
 * hashing, parsing and validating the whole snapshot:
 *
 *   snapshot/<sha256 of the head>   the head: one line of `SnapshotHeader` JSON, `\n`, then the bundle chunks
 *   snapshot-body/<same hash>       every other chunk
 *
 * The pointer names the head's hash; the header holds every chunk's place and SHA-256, so each chunk is checked
 * against a hash the verified header vouches for, on first use. Even the route index is such a part, keyed by a
 * path's first two segments (`routeKey`): a cold isolate reads the header (a few kB per 10,000 routes) and the
 * one or two index chunks its request's path needs, not an index of every route.
 * A chunk is a JSON array of items (a list part) or of `[key, value]` pairs sorted by key (a keyed part).
 * Layout 1, one JSON document hashed whole, is still read (snapshot/store.ts), so a worker deployed before its
 * exporter keeps serving.
 */
import * as v from 'valibot';
import { CompiledBinding, CompiledRole } from './authz';
import { APIServiceRoute, BundleAsset, ResourceReport, ReverseProxyRoute, type Snapshot } from './snapshot';

export const SNAPSHOT_LAYOUT = 2;
export const bodyKey = (hash: string) => `snapshot-body/${hash}`;
/** Chunks close once they pass this many bytes: a route costs one small parse, and the header stays small. */
export const CHUNK_BYTES = 16 * 1024;

const Hash = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/));

/** One chunk: bytes `[at, at + size)` of the head's tail or of the body; `first` is its first item's index or key. */
export const Chunk = v.object({ at: v.number(), size: v.number(), sha256: Hash, first: v.union([v.number(), v.string()]) });
export type Chunk = v.InferOutput<typeof Chunk>;

export const Part = v.object({ in: v.picklist(['head', 'body']), count: v.number(), chunks: v.array(Chunk) });
export type Part = v.InferOutput<typeof Part>;

/** A matcher as the route index holds it: its path (`*`-terminated for a prefix), its method, its route's position. */
export const IndexedMatcher = v.tuple([v.string(), v.string(), v.number()]);
export type IndexedMatcher = v.InferOutput<typeof IndexedMatcher>;

/** The index key of prefix matchers with fewer than two whole segments (`/*`, `/proxy/*`): read for every path. */
export const SHORT_PREFIXES = '';

/** The route-index key of a request path, or of an exact matcher: the path up to its third `/` (all of it if none). */
export function routeKey(path: string): string {
  const a = path.indexOf('/', 1);
  const b = a < 0 ? -1 : path.indexOf('/', a + 1);
  return b < 0 ? path : path.slice(0, b);
}

/**
 * The key of a prefix matcher (its path without `*`): that of every path it matches when it has two whole
 * segments (`/proxy/ext/` → `/proxy/ext`), else SHORT_PREFIXES. A match in a path's own key is always longer than
 * one among the short prefixes, so the two are probed in that order.
 */
export function prefixKey(prefix: string): string {
  const a = prefix.indexOf('/', 1);
  const b = a < 0 ? -1 : prefix.indexOf('/', a + 1);
  return b < 0 ? SHORT_PREFIXES : prefix.slice(0, b);
}

/** Each part's items, checked with these schemas when its chunk is first read. */
export const PART_ITEMS = {
  /** Route key → its matchers. */
  routeIndex: v.array(IndexedMatcher),
  /** `group/version` → the APIService's position. */
  apiServiceIndex: v.number(),
  reverseProxies: ReverseProxyRoute,
  apiServices: APIServiceRoute,
  bundles: BundleAsset,
  resources: ResourceReport,
  roles: CompiledRole,
  globalRoleBindings: CompiledBinding,
  /** `u:<user>` / `g:<group>` → positions in globalRoleBindings. */
  globalRoleBindingSubjects: v.array(v.number()),
  clusterRoleBindings: CompiledBinding,
  clusterRoleBindingSubjects: v.array(v.number()),
  workspaceRoleBindings: v.array(CompiledBinding),
  roleBindings: v.array(CompiledBinding),
  namespaceWorkspaces: v.string(),
  users: v.string(),
} as const;
export type PartName = keyof typeof PART_ITEMS;
/** Parts looked up by key (link, workspace, namespace, user name); the others by position. */
export const KEYED_PARTS: ReadonlySet<PartName> = new Set(['routeIndex', 'apiServiceIndex', 'bundles', 'globalRoleBindingSubjects', 'clusterRoleBindingSubjects', 'workspaceRoleBindings', 'roleBindings', 'namespaceWorkspaces', 'users']);
export const AUTHZ_PARTS = ['roles', 'globalRoleBindings', 'globalRoleBindingSubjects', 'clusterRoleBindings', 'clusterRoleBindingSubjects', 'workspaceRoleBindings', 'roleBindings', 'namespaceWorkspaces', 'users'] as const;

export const SnapshotHeader = v.object({
  layout: v.literal(SNAPSHOT_LAYOUT),
  schemaVersion: v.number(),
  cluster: v.string(),
  /** Every part but the authorization ones, which are present only when the exporter published authorization data. */
  parts: v.record(v.picklist(Object.keys(PART_ITEMS) as PartName[]), Part),
});
export type SnapshotHeader = v.InferOutput<typeof SnapshotHeader>;

/** ReverseProxies in name order (stable: the table's tie-break), APIServices as published (a later one wins). */
export function indexOrder(s: Pick<Snapshot, 'reverseProxies' | 'apiServices'>): { reverseProxies: ReverseProxyRoute[]; apiServices: APIServiceRoute[] } {
  const byName = (a: ReverseProxyRoute, b: ReverseProxyRoute) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return { reverseProxies: [...s.reverseProxies].sort(byName), apiServices: s.apiServices };
}

/** The route index's entries: every matcher under its key, routes in index order; `group/version` → position. */
export function routeIndex(routes: ReturnType<typeof indexOrder>): { routes: [string, IndexedMatcher[]][]; apiServices: [string, number][] } {
  const byKey = new Map<string, IndexedMatcher[]>();
  routes.reverseProxies.forEach((r, i) => {
    for (const m of r.matchers) {
      const key = m.path.endsWith('*') ? prefixKey(m.path.slice(0, -1)) : routeKey(m.path);
      let list = byKey.get(key);
      if (!list) byKey.set(key, (list = []));
      list.push([m.path, m.method, i]);
    }
  });
  // A later APIService of the same group/version wins, as it always has.
  const apis = new Map<string, number>();
  routes.apiServices.forEach((a, i) => apis.set(`${a.group}/${a.version}`, i));
  return { routes: [...byKey], apiServices: [...apis] };
}

/** A keyed part's entries: sorted by key (JavaScript's string order, which both sides use); the first of a key wins. */
export function keyedEntries<V>(entries: Iterable<[string, V]>): [string, V][] {
  const seen = new Map<string, V>();
  for (const [k, val] of entries) if (!seen.has(k)) seen.set(k, val);
  return [...seen].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
