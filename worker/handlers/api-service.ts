/**
 * APIService: `/kapis/{group}/{version}/...` to the endpoint's origin with the full request path unchanged, the
 * query as sent, Authorization forwarded and identity headers always set.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../env';
import type { APIServiceRoute } from '../model/snapshot';
import type { Step } from './step';
import { authorize } from '../authz/guard';
import { staysWithin } from '../directives/path';
import { badGateway, pathEscapes, proxyError } from '../errors';
import { resolveOrigin } from '../proxy/cluster-origin';
import { clientResponse, forward } from '../proxy/forward';
import { setIdentity } from '../proxy/headers';
import { hasNoBody, upstreamHeaders } from '../proxy/upstream-request';

export const apiService: Step = (c) => {
  const route = c.get('table')?.matchApiService(c.get('url').pathname);
  return route && proxy(c, route);
};

async function proxy(c: Context<AppEnv>, route: APIServiceRoute): Promise<Response> {
  const url = c.get('url');
  if (!staysWithin(url.pathname, `/kapis/${route.group}/${route.version}/`)) return pathEscapes();
  const refused = authorize(c, route.policy.allowAnonymous);
  if (refused) return refused;
  if (!route.available || !route.upstream) return proxyError(503, route.unavailable ?? `apiService ${route.name} is not available`);
  const origin = resolveOrigin(route.upstream, c.env);
  if ('error' in origin) return badGateway(origin.error);

  const headers = upstreamHeaders(c.req.raw, url, c.get('clientIp'));
  const identity = c.get('identity');
  setIdentity(headers, identity.user, identity.group);
  const method = c.req.method;
  const result = await forward({
    url: origin.base + url.pathname + url.search,
    method,
    headers,
    body: hasNoBody(method) ? null : c.req.raw.body,
    timeoutMs: route.policy.timeoutMs,
    binding: origin.binding,
  });
  if ('failure' in result) return result.failure;
  return clientResponse(result.response);
}
