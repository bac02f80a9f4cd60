/**
 * How a `Snapshot` is stored (layout 2), so a cold isolate routes after reading a small header instead of
 * hashing, parsing and validating the whole snapshot:
 *
 *   snapshot/<sha256 of the head>   the head: one line of `SnapshotHeader` JSON, `\n`, then the bundle chunks
 *   snapshot-body/<same hash>       every other chunk
 *
 * The pointer names the head's hash; the header holds what matching needs (`RouteIndex`) and every chunk's
 * place and SHA-256, so each chunk is checked against a hash the verified header vouches for, on first use.
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

/**
 * What routing needs before any chunk: per ReverseProxy (in name order, the tie-break among equal matchers) its
 * matchers as `[path, method, path, method, …]`, and per APIService its `group/version`.
 */
export interface RouteIndex { reverseProxies: string[][]; apiServices: string[] }

const strings = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string');
/** A plain loop, not a valibot schema: it is the one large field a cold isolate checks (5× faster at 10,000 routes). */
export const RouteIndex = v.custom<RouteIndex>((x) => {
  const i = x as Partial<RouteIndex> | null;
  return typeof i === 'object' && i !== null && strings(i.apiServices) && Array.isArray(i.reverseProxies) && i.reverseProxies.every(strings);
}, 'is not a route index');

/** Each part's items, checked with these schemas when its chunk is first read. */
export const PART_ITEMS = {
  reverseProxies: ReverseProxyRoute,
  apiServices: APIServiceRoute,
  bundles: BundleAsset,
  resources: ResourceReport,
  roles: CompiledRole,
  globalRoleBindings: CompiledBinding,
  clusterRoleBindings: CompiledBinding,
  workspaceRoleBindings: v.array(CompiledBinding),
  roleBindings: v.array(CompiledBinding),
  namespaceWorkspaces: v.string(),
  users: v.string(),
} as const;
export type PartName = keyof typeof PART_ITEMS;
/** Parts looked up by key (link, workspace, namespace, user name); the others by position. */
export const KEYED_PARTS: ReadonlySet<PartName> = new Set(['bundles', 'workspaceRoleBindings', 'roleBindings', 'namespaceWorkspaces', 'users']);
export const AUTHZ_PARTS = ['roles', 'globalRoleBindings', 'clusterRoleBindings', 'workspaceRoleBindings', 'roleBindings', 'namespaceWorkspaces', 'users'] as const;

export const SnapshotHeader = v.object({
  layout: v.literal(SNAPSHOT_LAYOUT),
  schemaVersion: v.number(),
  cluster: v.string(),
  index: RouteIndex,
  /** Every part but the authorization ones, which are present only when the exporter published authorization data. */
  parts: v.record(v.picklist(Object.keys(PART_ITEMS) as PartName[]), Part),
});
export type SnapshotHeader = v.InferOutput<typeof SnapshotHeader>;

/** ReverseProxies in name order (stable: the table's tie-break), APIServices as published (a later one wins). */
export function indexOrder(s: Pick<Snapshot, 'reverseProxies' | 'apiServices'>): { reverseProxies: ReverseProxyRoute[]; apiServices: APIServiceRoute[] } {
  const byName = (a: ReverseProxyRoute, b: ReverseProxyRoute) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return { reverseProxies: [...s.reverseProxies].sort(byName), apiServices: s.apiServices };
}

export function routeIndex(routes: ReturnType<typeof indexOrder>): RouteIndex {
  return {
    reverseProxies: routes.reverseProxies.map((r) => r.matchers.flatMap((m) => [m.path, m.method])),
    apiServices: routes.apiServices.map((a) => `${a.group}/${a.version}`),
  };
}

/** A keyed part's entries: sorted by key (JavaScript's string order, which both sides use); the first of a key wins. */
export function keyedEntries<V>(entries: Iterable<[string, V]>): [string, V][] {
  const seen = new Map<string, V>();
  for (const [k, val] of entries) if (!seen.has(k)) seen.set(k, val);
  return [...seen].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
