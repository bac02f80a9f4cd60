/**
 * APIService: `/kapis/{group}/{version}/...` to the endpoint's origin with the full request path unchanged, the
 * query as sent, Authorization forwarded and identity headers always set — once authorized, admitted by the
 * route's rate limit and circuit, or answered by its redirect.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../env';
import type { APIServiceRoute } from '../model/snapshot';
import type { Step } from './step';
import { climbs, staysWithin } from '../directives/path';
import { pathEscapes } from '../errors';
import { enterRoute, settle, withHeaders } from '../limits/route-guard';
import { markCache, openCache } from '../cache/route-cache';
import { clientResponse, forward } from '../proxy/forward';
import { setIdentity } from '../proxy/headers';
import { hasNoBody, upstreamHeaders } from '../proxy/upstream-request';
import { routingPath } from '../route-table';
import { readOrLoad } from '../snapshot/lazy-part';

export const apiService: Step = (c) => {
  const table = c.get('table');
  if (!table) return undefined;
  const route = readOrLoad(() => table.matchApiService(routingPath(c.get('url').pathname)));
  if (route instanceof Promise) return route.then((r) => r && proxy(c, r));
  return route && proxy(c, route);
};

async function proxy(c: Context<AppEnv>, route: APIServiceRoute): Promise<Response> {
  const url = c.get('url');
  c.get('trace').route = { kind: 'APIService', name: route.name };
  if (leavesApiService(url.pathname, route)) return pathEscapes();
  const entered = await enterRoute(c, 'apiService', route, url);
  if ('answer' in entered) return entered.answer;
  const { id, admitted, origin } = entered;
  const { policy } = route;
  const identity = c.get('identity');

  const headers = upstreamHeaders(c.req.raw, url, c.get('clientIp'), c.get('trace').context);
  setIdentity(headers, identity.user, identity.group);
  const method = c.req.method;
  const target = origin.base + url.pathname + url.search;
  // After authorization and admission, never instead of them; identity headers are always sent, so a signed-in
  // caller's copy is their own.
  const cache = openCache(c, 'apiService', route, target, headers, true);
  const hit = admitted.probe ? undefined : await cache?.lookup();
  if (hit) return withHeaders(markCache(c, hit, cache), admitted.headers);
  const result = await forward({
    url: target,
    method,
    headers: cache ? cache.upstreamHeaders(headers) : headers,
    body: hasNoBody(method) ? null : c.req.raw.body,
    timeoutMs: policy.timeoutMs,
    binding: origin.binding,
    retries: policy.retries,
  });
  c.get('trace').upstreamMs = result.ms;
  settle(c, id, policy, 'failure' in result ? undefined : result.response.status, admitted);
  if ('failure' in result) return withHeaders(result.failure, admitted.headers, result.retried);
  const response = clientResponse(result.response);
  return withHeaders(markCache(c, cache ? cache.keep(response) : response, cache), admitted.headers, result.retried);
}

/** Stricter than KubeSphere, which forwards them: a path that climbs in any decoded reading is refused. */
export function leavesApiService(rawPath: string, route: APIServiceRoute): boolean {
  return !staysWithin(rawPath, `/kapis/${route.group}/${route.version}/`) || climbs(rawPath);
}
