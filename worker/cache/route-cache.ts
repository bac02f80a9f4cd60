/**
 * The edge cache as APIService and ReverseProxy handlers use it: opened for a route with `ks-edge.io/cache` once
 * the request is admitted, and the answer marked with what happened (`X-Cache`, the log line, Server-Timing).
 */
import type { Context } from 'hono';
import type { AppEnv } from '../env';
import type { HeaderOp, Policy } from '../model/snapshot';
import { EdgeCache } from './edge-cache';

export function openCache(
  c: Context<AppEnv>, kind: 'apiService' | 'reverseProxy', route: { name: string; policy: Policy },
  upstreamUrl: string, upstreamHeaders: Headers, tellsIdentity: boolean, headerUp: readonly HeaderOp[] = [],
): EdgeCache | undefined {
  const rule = route.policy.cache;
  if (!rule) return undefined;
  const identity = c.get('identity');
  // An upstream told who asks may answer for that user: never share its answers across users.
  const perUser = rule.key === 'user' || (tellsIdentity && !identity.anonymous);
  const ctx = c.executionCtx;
  return new EdgeCache({
    rule, cluster: c.get('cluster'), kind, name: route.name, method: c.req.method, clientUrl: c.get('requestUrl'),
    clientHeaders: c.req.raw.headers, upstreamUrl, upstreamHeaders, rendered: renderedValues(headerUp, upstreamHeaders),
    user: perUser ? identity.user : undefined,
  }, (p) => ctx.waitUntil(p));
}

/** The values of headerUp entries built from the request (placeholders): literal ones are in the route's version. */
function renderedValues(ops: readonly HeaderOp[], headers: Headers): string[] {
  const out: string[] = [];
  for (const op of ops) {
    if ((op.op === 'set' || op.op === 'add') && op.value.some((p) => typeof p !== 'string')) out.push(`${op.name}: ${headers.get(op.name) ?? ''}`);
  }
  return out;
}

/** `X-Cache: HIT|MISS|BYPASS` on the answer, and the same in the request's log line. */
export function markCache(c: Context<AppEnv>, response: Response, cache: EdgeCache | undefined): Response {
  if (!cache) return response;
  c.get('trace').cache = cache.trip;
  response.headers.set('X-Cache', cache.trip.outcome);
  return response;
}
