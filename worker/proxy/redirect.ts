/**
 * `ks-edge.io/redirect`: answered at the edge, nothing proxied. The target's scheme and host are the annotation's
 * alone (checked at export); placeholders fill the path (as path segments; `{uri}`/`{path}` as the request sent
 * them) and the query (as Caddy's buildQueryString does).
 */
import type { TemplateContext } from '../directives/template';
import { renderQuery, renderTemplate } from '../directives/template';
import type { Redirect } from '../model/resilience';

export function redirectResponse(r: Redirect, ctx: TemplateContext): Response {
  let path = renderTemplate(r.path, ctx, 'path');
  let query = '';
  const q = path.indexOf('?');
  if (q >= 0) {
    query = path.slice(q + 1);
    path = path.slice(0, q);
  }
  if (r.query) query = renderQuery(r.query, ctx);
  if (path !== '' && !path.startsWith('/')) path = `/${path}`;
  const location = r.origin + path + (query ? `?${query}` : '');
  return new Response(null, { status: r.status, headers: { Location: location, 'Cache-Control': 'no-store' } });
}

export function requestContext(url: URL, method: string, headers: Headers, clientIp: string | undefined, user: string): TemplateContext {
  return {
    host: url.host, method, path: url.pathname, query: url.search.slice(1), scheme: url.protocol.slice(0, -1),
    remoteHost: clientIp ?? '', user, headers,
  };
}
