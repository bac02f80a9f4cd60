/**
 * Request tracing: every response carries an `X-Request-Id` (the client's, when it is a sane one) and a
 * `Server-Timing` header with the gateway's own time and the upstream's; every request leaves one JSON log line
 * (what `wrangler tail` shows) with the id, route, cluster, user, authorization decision, status and durations.
 * No token, cookie or query string is ever logged: the query may carry credentials, so only the path is.
 *
 * Workers' clocks advance only across I/O, so on Cloudflare the gateway's time is what its own awaits cost (KV,
 * Durable Objects); the upstream's is the wait for its response headers.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { logPolicy, logs } from './log-policy';
import { givenContext, newContext, type TraceContext } from './trace-context';

const CLIENT_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export interface Trace {
  id: string;
  started: number;
  /** The route that answered: kind and name (`core`, `gateway`, `bundle`… when no extension route did). */
  route?: { kind: string; name: string };
  /** What authorization said (`allowed by …`, `forbidden`, `public`, `anonymous refused`…). */
  decision?: string;
  /** What token review said, when it asked ks-apiserver (`reviewed`, `stale`, `refused`, `failed`). */
  review?: string;
  /** What the edge cache did on a `ks-edge.io/cache` route, and why it was bypassed. */
  cache?: { outcome: string; reason?: string };
  upstreamMs?: number;
  /** W3C trace context, sent upstream (observe/trace-context.ts). */
  context: TraceContext;
}

/**
 * Ids unique per isolate and across isolates: a random prefix drawn once, then a counter — a random UUID per
 * request costs a call into the runtime's CSPRNG, and an id needs to be unique, not unguessable.
 */
let idPrefix: string | undefined;
let idCount = 0;
function requestId(): string {
  idPrefix ??= crypto.randomUUID().slice(0, 23);
  return `${idPrefix}-${(++idCount).toString(16).padStart(12, '0')}`;
}

export const trace: MiddlewareHandler<AppEnv> = async (c, next) => {
  const given = c.req.header('x-request-id');
  const context = givenContext(c.req.header('traceparent') ?? null, c.req.header('tracestate') ?? null) ?? newContext();
  const t: Trace = { id: given && CLIENT_ID.test(given) ? given : requestId(), started: Date.now(), context };
  c.set('trace', t);
  await next();
  const total = Date.now() - t.started;
  const upstream = t.upstreamMs ?? 0;
  const res = c.res;
  const timing = `edge;dur=${Math.max(0, total - upstream)}${t.upstreamMs === undefined ? '' : `, upstream;dur=${upstream}`}${t.cache ? `, cache;desc=${t.cache.outcome}` : ''}`;
  try {
    res.headers.set('X-Request-Id', t.id);
    res.headers.set('Server-Timing', timing);
  } catch {
    // An immutable response (as the runtime gave it): copy once to add the headers.
    c.res = new Response(res.body, res);
    c.res.headers.set('X-Request-Id', t.id);
    c.res.headers.set('Server-Timing', timing);
  }
  if (!logs(logPolicy(c.env), c.res.status, total)) return;
  const identity = c.get('identity');
  console.log(JSON.stringify({
    msg: 'ks-edge request', id: t.id, trace_id: t.context.traceId, method: c.req.method, path: c.get('requestUrl')?.pathname ?? new URL(c.req.url).pathname,
    cluster: c.get('cluster') ?? null, route: t.route ?? null, user: identity ? identity.user : null,
    decision: t.decision ?? null, review: t.review ?? null, cache: t.cache ? (t.cache.reason ? `${t.cache.outcome}: ${t.cache.reason}` : t.cache.outcome) : null, status: c.res.status, edge_ms: Math.max(0, total - upstream), upstream_ms: t.upstreamMs ?? null,
  }));
};
