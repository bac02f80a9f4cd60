/**
 * ReverseProxy: the best matching route (SPEC §2), authorized, admitted by its rate limit and circuit (or answered
 * by its redirect), with its directives applied (proxy/reverse-proxy-plan.ts), sent (with retries), and
 * `headerDown` applied to the response.
 */
import type { Step } from './step';
import { applyHeaderOps } from '../directives/headers';
import { staysWithin } from '../directives/path';
import { badGateway, pathEscapes } from '../errors';
import { enterRoute, settle, withHeaders } from '../limits/route-guard';
import { markCache, openCache } from '../cache/route-cache';
import { clientResponse, forward } from '../proxy/forward';
import { planReverseProxy } from '../proxy/reverse-proxy-plan';
import { hasNoBody, upstreamHeaders } from '../proxy/upstream-request';
import { routingPath } from '../route-table';
import { readOrLoad } from '../snapshot/lazy-part';

export const reverseProxy: Step = async (c) => {
  const url = c.get('url');
  const table = c.get('table');
  if (!table) return undefined;
  const read = readOrLoad(() => table.matchReverseProxy(routingPath(url.pathname), c.req.method));
  const match = read instanceof Promise ? await read : read;
  if (!match) return undefined;
  const { route, matcher } = match;
  c.get('trace').route = { kind: 'ReverseProxy', name: route.name };
  if (matcher.endsWith('*') && !staysWithin(url.pathname, matcher.slice(0, -1))) return pathEscapes();
  const entered = await enterRoute(c, 'reverseProxy', route, url);
  if ('answer' in entered) return entered.answer;
  const { id, admitted, origin } = entered;
  const { policy } = route;

  const d = route.directives;
  const plan = planReverseProxy(d, origin.base, {
    url, method: c.req.method, clientHeaders: c.req.raw.headers, headers: upstreamHeaders(c.req.raw, url, c.get('clientIp'), c.get('trace').context),
    clientIp: c.get('clientIp'), identity: c.get('identity'), clientPath: c.get('requestUrl').pathname,
  });
  if ('redirect' in plan) return c.redirect(plan.redirect, 301);
  if ('refuse' in plan) return plan.refuse === 'path-escapes' ? pathEscapes() : badGateway(`reverseProxy ${route.name}: the directives did not give a path on the upstream`);

  const { method } = plan.send;
  // After authorization and admission, never instead of them; a circuit's probe always asks the upstream.
  const cache = openCache(c, 'reverseProxy', route, plan.send.url, plan.send.headers, d.authProxy, d.headerUp);
  let response = admitted.probe ? undefined : await cache?.lookup();
  let retried = 0;
  if (!response) {
    const result = await forward({
      ...plan.send,
      headers: cache ? cache.upstreamHeaders(plan.send.headers) : plan.send.headers,
      body: hasNoBody(method) ? null : c.req.raw.body,
      timeoutMs: policy.timeoutMs,
      binding: origin.binding,
      retries: policy.retries,
    });
    c.get('trace').upstreamMs = result.ms;
    settle(c, id, policy, 'failure' in result ? undefined : result.response.status, admitted);
    if ('failure' in result) return withHeaders(result.failure, admitted.headers, result.retried);
    const upstream = result.response;
    if (d.rejectForwardingRedirects && upstream.status >= 300 && upstream.status < 400) {
      await upstream.body?.cancel();
      return badGateway(`upstream answered ${upstream.status} and reverseProxy ${route.name} rejects forwarding redirects`);
    }
    response = clientResponse(upstream);
    if (cache) response = cache.keep(response);
    retried = result.retried;
  }
  const down = response.headers;
  if (d.wrapTransport) {
    for (const name of [...down.keys()]) if (name.startsWith('access-control-allow-')) down.delete(name);
  }
  if (d.headerDown.length) applyHeaderOps(down, d.headerDown, { ...plan.ctx, path: plan.path, query: plan.query });
  return withHeaders(markCache(c, response, cache), admitted.headers, retried);
};
