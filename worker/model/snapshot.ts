/**
 * The compiled routing snapshot: what the exporter writes to KV and the worker loads. The worker validates it with
 * these schemas before it replaces a working table, so a corrupt or foreign value can never take routing down.
 *
 * KV layout:  bundle/<sha256>    → bundle bytes, shared by every cluster
 *             snapshot/<sha256>  → JSON of `Snapshot` (one cluster's)
 *             pointer/<cluster>  → JSON of `Pointer`, one per cluster (written last, so it never names missing data)
 *             current            → the pointer of single-cluster deployments before fleets; kept up to date by the
 *                                  exporter of the cluster it names, and read for HOST_CLUSTER when it has no
 *                                  pointer of its own (the migration)
 */
import * as v from 'valibot';
import { AuthzData } from './authz';

export const SNAPSHOT_SCHEMA_VERSION = 1;
export const CURRENT_KEY = 'current';
export const DEFAULT_CLUSTER = 'host';
export const POINTER_PREFIX = 'pointer/';
export const pointerKey = (cluster: string) => `${POINTER_PREFIX}${cluster}`;
/** Cluster names as KubeSphere's (DNS labels): they are KV key parts and path segments. */
export const CLUSTER_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const snapshotKey = (hash: string) => `snapshot/${hash}`;
export const bundleKey = (hash: string) => `bundle/${hash}`;

import { Template } from './template';
import { CircuitBreaker, RateLimit, Redirect } from './resilience';
import { CacheRule } from './cache-rule';

export { Template, TemplatePart } from './template';

export const HeaderOp = v.variant('op', [
  v.object({ op: v.literal('delete'), name: v.string() }),
  v.object({
    op: v.literal('deleteMatching'),
    match: v.picklist(['prefix', 'suffix', 'contains', 'all']),
    text: v.string(),
  }),
  v.object({ op: v.picklist(['set', 'add']), name: v.string(), value: Template }),
]);
export type HeaderOp = v.InferOutput<typeof HeaderOp>;

/** Caddy's path matcher shapes, compared case-insensitively against the cleaned path. */
export const PathPattern = v.object({
  match: v.picklist(['all', 'prefix', 'suffix', 'contains', 'exact', 'glob']),
  text: v.string(),
});
export type PathPattern = v.InferOutput<typeof PathPattern>;

export const RewriteRule = v.object({
  pattern: PathPattern,
  path: v.optional(Template),
  query: v.optional(Template),
});
export type RewriteRule = v.InferOutput<typeof RewriteRule>;

export const ReplaceRule = v.object({ find: Template, replacement: Template });
export type ReplaceRule = v.InferOutput<typeof ReplaceRule>;

export const RegexpRule = v.object({ source: v.string(), replacement: Template });
export type RegexpRule = v.InferOutput<typeof RegexpRule>;

export const CompiledDirectives = v.object({
  method: v.optional(v.string()),
  stripPathPrefix: v.optional(v.string()),
  stripPathSuffix: v.optional(v.string()),
  headerUp: v.array(HeaderOp),
  headerDown: v.array(HeaderOp),
  rewrite: v.array(RewriteRule),
  replace: v.array(ReplaceRule),
  pathRegexp: v.array(RegexpRule),
  authProxy: v.boolean(),
  wrapTransport: v.boolean(),
  rejectForwardingRedirects: v.boolean(),
});
export type CompiledDirectives = v.InferOutput<typeof CompiledDirectives>;

/**
 * Where a route sends traffic. `cluster` is set for in-cluster hosts (service refs, *.svc, *.svc.cluster.local),
 * which the edge cannot reach directly and maps through CLUSTER_ORIGIN or the CLUSTER service binding.
 */
export const Upstream = v.object({
  origin: v.string(),
  cluster: v.optional(
    v.object({ scheme: v.string(), name: v.string(), namespace: v.string(), port: v.number(), host: v.string() }),
  ),
});
export type Upstream = v.InferOutput<typeof Upstream>;

/** Per-route behaviour taken from `ks-edge.io/*` annotations. */
export const Policy = v.object({
  allowAnonymous: v.boolean(),
  timeoutMs: v.number(),
  rateLimit: v.optional(RateLimit),
  circuitBreaker: v.optional(CircuitBreaker),
  /** Retries of idempotent requests on connection failure. */
  retries: v.optional(v.number()),
  redirect: v.optional(Redirect),
  /** `ks-edge.io/cache`: answers kept at the edge (worker/cache/). */
  cache: v.optional(CacheRule),
});
export type Policy = v.InferOutput<typeof Policy>;

/**
 * A route that is not `available` still claims what it matches and answers 503 with `unavailable` as the reason;
 * it never falls through to a lower-priority route.
 */
const routeEntries = {
  name: v.string(),
  available: v.boolean(),
  unavailable: v.optional(v.string()),
  upstream: v.optional(Upstream),
  policy: Policy,
};

export const APIServiceRoute = v.object({ ...routeEntries, group: v.string(), version: v.string() });
export type APIServiceRoute = v.InferOutput<typeof APIServiceRoute>;

export const RouteMatcher = v.object({ path: v.string(), method: v.string() });
export type RouteMatcher = v.InferOutput<typeof RouteMatcher>;

export const ReverseProxyRoute = v.object({
  ...routeEntries,
  matchers: v.array(RouteMatcher),
  directives: CompiledDirectives,
});
export type ReverseProxyRoute = v.InferOutput<typeof ReverseProxyRoute>;

/** One servable link of a JSBundle: main script, style or file. */
export const BundleAsset = v.object({
  bundle: v.string(),
  link: v.string(),
  contentType: v.string(),
  hash: v.optional(v.string()),
  size: v.optional(v.number()),
  /** Set when the source failed and no earlier bytes exist: the link answers 503 with this reason. */
  error: v.optional(v.string()),
});
export type BundleAsset = v.InferOutput<typeof BundleAsset>;

export const ResourceReport = v.object({
  /** An extension kind, or an IAM kind reported because it has problems or warnings. */
  kind: v.string(),
  name: v.string(),
  state: v.string(),
  routes: v.array(v.string()),
  problems: v.array(v.string()),
  warnings: v.array(v.string()),
});
export type ResourceReport = v.InferOutput<typeof ResourceReport>;

/** Holds no timestamp: the same resources give the same bytes and hash, so a re-export writes nothing. */
export const Snapshot = v.object({
  schemaVersion: v.literal(SNAPSHOT_SCHEMA_VERSION),
  cluster: v.string(),
  apiServices: v.array(APIServiceRoute),
  reverseProxies: v.array(ReverseProxyRoute),
  bundles: v.array(BundleAsset),
  resources: v.array(ResourceReport),
  /** KubeSphere's IAM data compiled for authorization; absent when the exporter published none. */
  authz: v.optional(AuthzData),
});
export type Snapshot = v.InferOutput<typeof Snapshot>;

export const Pointer = v.object({
  snapshot: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
  /** When this snapshot's content was first published. */
  generatedAt: v.string(),
  cluster: v.string(),
  counts: v.record(v.string(), v.number()),
  /** Earlier snapshot hashes, newest first, kept for rollback. */
  history: v.optional(v.array(v.string())),
});
export type Pointer = v.InferOutput<typeof Pointer>;
