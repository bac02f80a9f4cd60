/**
 * The three KubeSphere extension resources (group extensions.kubesphere.io/v1alpha1) and the core objects a
 * JSBundle may read, as valibot schemas. These are the single source of truth for input shapes: the exporter
 * validates manifests with them and every TypeScript type below is derived from them.
 */
import * as v from 'valibot';

export const API_GROUP = 'extensions.kubesphere.io';

const Name = v.pipe(v.string(), v.minLength(1, 'must not be empty'));
const StringMap = v.record(v.string(), v.string());

export const ObjectMeta = v.object({
  name: Name,
  namespace: v.optional(v.string()),
  labels: v.optional(StringMap),
  annotations: v.optional(StringMap),
  // Fields a real API server adds; accepted so that `kubectl get -o yaml` output validates without warnings.
  uid: v.optional(v.string()),
  resourceVersion: v.optional(v.string()),
  generation: v.optional(v.number()),
  creationTimestamp: v.optional(v.unknown()),
  managedFields: v.optional(v.unknown()),
  finalizers: v.optional(v.unknown()),
  ownerReferences: v.optional(v.unknown()),
});

export const ServiceReference = v.object({
  namespace: Name,
  name: Name,
  port: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535))),
  path: v.optional(v.string()),
});

/** KubeSphere's Endpoint; the legacy spellings `insecureSkipTLSVerify` and `caBudle` are accepted. */
export const endpointEntries = {
  url: v.optional(v.string()),
  service: v.optional(ServiceReference),
  caBundle: v.optional(v.string()),
  caBudle: v.optional(v.string()),
  insecureSkipVerify: v.optional(v.boolean()),
  insecureSkipTLSVerify: v.optional(v.boolean()),
};
export const Endpoint = v.object(endpointEntries);
export type Endpoint = v.InferOutput<typeof Endpoint>;

export const Status = v.object({
  state: v.optional(v.string()),
  link: v.optional(v.string()),
  conditions: v.optional(v.unknown()),
});

export const APIService = v.object({
  apiVersion: v.string(),
  kind: v.literal('APIService'),
  metadata: ObjectMeta,
  spec: v.object({
    group: Name,
    version: Name,
    ...endpointEntries,
  }),
  status: v.optional(Status),
});
export type APIService = v.InferOutput<typeof APIService>;

const KeyRef = v.object({ name: Name, key: Name, namespace: v.optional(v.string()) });

export const JSBundle = v.object({
  apiVersion: v.string(),
  kind: v.literal('JSBundle'),
  metadata: ObjectMeta,
  spec: v.object({
    raw: v.optional(v.string()),
    rawFrom: v.optional(
      v.object({ ...endpointEntries, configMapKeyRef: v.optional(KeyRef), secretKeyRef: v.optional(KeyRef) }),
    ),
    assets: v.optional(
      v.object({
        style: v.optional(v.object({ link: v.optional(v.string()), ...endpointEntries })),
        files: v.optional(
          v.array(
            v.object({
              name: v.optional(v.string()),
              link: v.optional(v.string()),
              mimeType: v.optional(v.string()),
              ...endpointEntries,
            }),
          ),
        ),
      }),
    ),
    filenameOverride: v.optional(v.string()),
  }),
  status: v.optional(Status),
});
export type JSBundle = v.InferOutput<typeof JSBundle>;

export const Matcher = v.object({ path: Name, method: v.optional(v.string()) });
export type Matcher = v.InferOutput<typeof Matcher>;

export const Directives = v.object({
  method: v.optional(v.string()),
  stripPathPrefix: v.optional(v.string()),
  stripPathSuffix: v.optional(v.string()),
  headerUp: v.optional(v.array(v.string())),
  headerDown: v.optional(v.array(v.string())),
  rewrite: v.optional(v.array(v.string())),
  replace: v.optional(v.array(v.string())),
  pathRegexp: v.optional(v.array(v.string())),
  authProxy: v.optional(v.boolean()),
  wrapTransport: v.optional(v.boolean()),
  rejectForwardingRedirects: v.optional(v.boolean()),
});
export type Directives = v.InferOutput<typeof Directives>;

export const ReverseProxy = v.object({
  apiVersion: v.string(),
  kind: v.literal('ReverseProxy'),
  metadata: ObjectMeta,
  spec: v.object({
    // Published KubeSphere documents write the matcher as a list; any entry matches.
    matcher: v.union([Matcher, v.pipe(v.array(Matcher), v.minLength(1, 'must list at least one matcher'))]),
    upstream: Endpoint,
    directives: v.optional(Directives),
  }),
  status: v.optional(Status),
});
export type ReverseProxy = v.InferOutput<typeof ReverseProxy>;

export const ConfigMap = v.object({
  apiVersion: v.literal('v1'),
  kind: v.literal('ConfigMap'),
  metadata: ObjectMeta,
  data: v.optional(StringMap),
  binaryData: v.optional(StringMap),
});
export type ConfigMap = v.InferOutput<typeof ConfigMap>;

export const Secret = v.object({
  apiVersion: v.literal('v1'),
  kind: v.literal('Secret'),
  metadata: ObjectMeta,
  type: v.optional(v.string()),
  data: v.optional(StringMap),
  stringData: v.optional(StringMap),
});
export type Secret = v.InferOutput<typeof Secret>;

export const SCHEMA_BY_KIND = { APIService, JSBundle, ReverseProxy, ConfigMap, Secret } as const;
