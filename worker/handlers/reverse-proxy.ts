/**
 * ReverseProxy: the best matching route (SPEC §2) with its directives applied in the SPEC's order:
 * method → stripPathPrefix → stripPathSuffix → headerUp → rewrite → replace → pathRegexp → identity (authProxy)
 * → send → headerDown.
 */
import type { Step } from './step';
import { authorize } from '../authz/guard';
import { applyHeaderOps } from '../directives/headers';
import { applyPathRegexp, applyReplace, applyRewrite, staysWithin, stripPathPrefix, stripPathSuffix, type PathState } from '../directives/path';
import type { TemplateContext } from '../directives/template';
import { badGateway, pathEscapes, proxyError } from '../errors';
import { resolveOrigin } from '../proxy/cluster-origin';
import { clientResponse, forward } from '../proxy/forward';
import { setIdentity } from '../proxy/headers';
import { hasNoBody, upstreamHeaders } from '../proxy/upstream-request';

export const reverseProxy: Step = async (c) => {
  const url = c.get('url');
  const match = c.get('table')?.matchReverseProxy(url.pathname, c.req.method);
  if (!match) return undefined;
  const { route, matcher } = match;
  if (matcher.endsWith('*') && !staysWithin(url.pathname, matcher.slice(0, -1))) return pathEscapes();
  const refused = authorize(c, route.policy.allowAnonymous);
  if (refused) return refused;
  if (!route.available || !route.upstream) return proxyError(503, route.unavailable ?? `reverseProxy ${route.name} is not available`);
  const origin = resolveOrigin(route.upstream, c.env);
  if ('error' in origin) return badGateway(origin.error);

  const d = route.directives;
  const identity = c.get('identity');
  const headers = upstreamHeaders(c.req.raw, url, c.get('clientIp'));
  const method = d.method ?? c.req.method;
  const state: PathState = { path: url.pathname, query: url.search.slice(1) };
  if (d.stripPathPrefix) state.path = stripPathPrefix(state.path, d.stripPathPrefix);
  if (d.stripPathSuffix) state.path = stripPathSuffix(state.path, d.stripPathSuffix);
  const ctx: TemplateContext = {
    host: url.host, method, path: state.path, query: state.query, scheme: url.protocol.slice(0, -1),
    remoteHost: c.get('clientIp') ?? '', user: identity.anonymous ? '' : identity.user, headers: c.req.raw.headers,
  };
  applyHeaderOps(headers, d.headerUp, ctx);
  applyRewrite(state, d.rewrite, ctx);
  applyReplace(state, d.replace, ctx);
  applyPathRegexp(state, d.pathRegexp, ctx);
  if (state.path === '') {
    if (hasNoBody(c.req.method)) return c.redirect(`${url.pathname}/${url.search}`, 301);
    state.path = '/';
  }
  if (d.authProxy) setIdentity(headers, identity.user, identity.group);
  if (d.wrapTransport) headers.set('x-forwarded-uri', url.pathname + url.search);

  const result = await forward({
    url: origin.base + state.path + (state.query ? `?${state.query}` : ''),
    method,
    headers,
    body: hasNoBody(method) ? null : c.req.raw.body,
    timeoutMs: route.policy.timeoutMs,
    binding: origin.binding,
  });
  if ('failure' in result) return result.failure;
  const upstream = result.response;
  if (d.rejectForwardingRedirects && upstream.status >= 300 && upstream.status < 400) {
    await upstream.body?.cancel();
    return badGateway(`upstream answered ${upstream.status} and reverseProxy ${route.name} rejects forwarding redirects`);
  }
  const response = clientResponse(upstream);
  const down = response.headers;
  if (d.wrapTransport) {
    for (const name of [...down.keys()]) if (name.startsWith('access-control-allow-')) down.delete(name);
  }
  if (d.headerDown.length) applyHeaderOps(down, d.headerDown, { ...ctx, path: state.path, query: state.query });
  return response;
};
