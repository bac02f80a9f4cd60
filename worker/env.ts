/** The worker's bindings and variables (wrangler.toml, `wrangler secret`, or `--var` locally). */
export interface Env {
  /** Workers KV holding `pointer/<cluster>` (and the legacy `current`), `snapshot/<hash>` and `bundle/<hash>`. */
  KV: KVNamespace;
  /** HS256 key of KubeSphere's JWTs (ks-apiserver's `jwtSecret`). */
  JWT_SECRET?: string;
  /** JWKS document for RS256/ES256 tokens. */
  JWKS_URL?: string;
  /** Seconds a fetched JWKS is trusted before it is fetched again (default 600). */
  JWKS_CACHE_SECONDS?: string;
  /** Required `iss` of tokens (KubeSphere writes its `authentication.issuer.url`); required with JWKS_URL. */
  JWT_ISSUER?: string;
  /** Required `aud` of tokens, when set. */
  JWT_AUDIENCE?: string;
  /** `none` turns authentication off explicitly; without a key and without this, requests fail closed. */
  AUTH?: string;
  /** `kubesphere` (default with authentication): KubeSphere's RBAC decides; `none`: authentication only. */
  AUTHZ?: string;
  /** Template for in-cluster upstreams: `{scheme} {name} {namespace} {port} {host}`. */
  CLUSTER_ORIGIN?: string;
  /** Service binding that reaches in-cluster upstreams (e.g. a Tunnel-backed worker); wins over CLUSTER_ORIGIN. */
  CLUSTER?: Fetcher;
  /** The real ks-console / ks-apiserver for everything that is not an extension route. */
  CORE_ORIGIN?: string;
  /** The cluster whose snapshot serves unprefixed paths (default `host`); others are members, under `/clusters/{c}/`. */
  HOST_CLUSTER?: string;
  /** `on` (default with CORE_ORIGIN): ks-apiserver reviews tokens, fail closed; `stale-ok`; `off`. */
  TOKEN_REVIEW?: string;
  /** How long a passed token review stands (default 30). */
  TOKEN_REVIEW_SECONDS?: string;
  /** How long a review may take before the request is refused with 503 (default 3000). */
  TOKEN_REVIEW_TIMEOUT_MS?: string;
  /** `errors` (default): log lines for errors, refusals, slow requests and a sample; `all`; `off`. */
  REQUEST_LOG?: string;
  /** With REQUEST_LOG=errors: requests at least this slow are logged (default 1000). */
  REQUEST_LOG_SLOW_MS?: string;
  /** With REQUEST_LOG=errors: the share of other requests logged (default 0.01). */
  REQUEST_LOG_SAMPLE?: string;
  /** How often a warm isolate looks at each cluster's pointer (default 10). */
  SNAPSHOT_REFRESH_SECONDS?: string;
  /** Durable Objects counting `ks-edge.io/rate-limit` across isolates (worker/limits/rate-limiter.ts). */
  RATE_LIMITER?: DurableObjectNamespace<import('./limits/rate-limiter').RateLimiter>;
  /** Durable Objects holding `ks-edge.io/circuit-breaker` state (worker/limits/circuit-breaker.ts). */
  CIRCUIT_BREAKER?: DurableObjectNamespace<import('./limits/circuit-breaker').CircuitBreaker>;
}

import type { Identity } from './auth/identity';
import type { Trace } from './observe/trace';
import type { RouteTable } from './route-table';

/** Hono's typing of this app: bindings plus what middleware hands to handlers. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    /** The table of the current snapshot; undefined before any snapshot was published. */
    table: RouteTable | undefined;
    identity: Identity;
    /** The verified token of this request, for its review; undefined without one. */
    credential: { token: string; exp: number } | undefined;
    /** From CF-Connecting-IP, which Cloudflare sets and clients cannot forge at the edge. */
    clientIp: string | undefined;
    /** The request URL, parsed once; for `/clusters/{c}/…` of a cluster the edge serves, without that prefix. */
    url: URL;
    /** The request URL as it came (what CORE_ORIGIN receives). */
    requestUrl: URL;
    /** The cluster whose snapshot routes this request. */
    cluster: string;
    /** Whether that is the host cluster (members skip the host's user checks, as KubeSphere's members do). */
    isHost: boolean;
    /** What this request's log line and Server-Timing report (observe/trace.ts). */
    trace: Trace;
  };
}
