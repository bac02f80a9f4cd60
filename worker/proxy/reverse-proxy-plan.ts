/**
 * What a ReverseProxy request becomes upstream, with its directives applied in the SPEC's order: method →
 * stripPathPrefix → stripPathSuffix → headerUp → rewrite → replace → pathRegexp → identity (authProxy). Pure (no
 * I/O), so the invariants below are tested over random directives and requests:
 *
 * - the URL's scheme, host and port are the route's alone: the path always starts with `/`, and the result is
 *   checked against the origin;
 * - the path sent never climbs (`..`) in any decoded reading, so no placeholder or encoded segment leaves the path
 *   the directives built.
 */
import type { Identity } from '../auth/identity';
import { applyHeaderOps } from '../directives/headers';
import { applyPathRegexp, applyReplace, applyRewrite, climbs, stripPathPrefix, stripPathSuffix, type PathState } from '../directives/path';
import type { TemplateContext } from '../directives/template';
import type { CompiledDirectives } from '../model/snapshot';
import { setIdentity } from './headers';
import { hasNoBody } from './upstream-request';

export interface ProxyRequest {
  url: URL;
  method: string;
  /** The request's headers as the client sent them (placeholders read these). */
  clientHeaders: Headers;
  /** The upstream request's headers so far (sanitized); directives change them in place. */
  headers: Headers;
  clientIp: string | undefined;
  identity: Identity;
  /** The path the client sent, when the fleet removed a `/clusters/{c}` prefix from `url`: the redirect keeps it. */
  clientPath?: string;
}

export type Plan =
  | { send: { url: string; method: string; headers: Headers }; ctx: TemplateContext; path: string; query: string }
  | { redirect: string }
  | { refuse: 'path-escapes' | 'origin-changed' };

export function planReverseProxy(d: CompiledDirectives, base: string, r: ProxyRequest): Plan {
  const method = d.method ?? r.method;
  const state: PathState = { path: r.url.pathname, query: r.url.search.slice(1) };
  if (d.stripPathPrefix) state.path = stripPathPrefix(state.path, d.stripPathPrefix);
  if (d.stripPathSuffix) state.path = stripPathSuffix(state.path, d.stripPathSuffix);
  const ctx: TemplateContext = {
    host: r.url.host, method, path: state.path, query: state.query, scheme: r.url.protocol.slice(0, -1),
    remoteHost: r.clientIp ?? '', user: r.identity.anonymous ? '' : r.identity.user, headers: r.clientHeaders,
  };
  applyHeaderOps(r.headers, d.headerUp, ctx);
  applyRewrite(state, d.rewrite, ctx);
  applyReplace(state, d.replace, ctx);
  applyPathRegexp(state, d.pathRegexp, ctx);
  // The empty-path redirect follows the client's method: the client is who repeats the request.
  if (state.path === '') {
    if (hasNoBody(r.method)) return { redirect: `${r.clientPath ?? r.url.pathname}/${r.url.search}` };
    state.path = '/';
  }
  if (!state.path.startsWith('/')) state.path = `/${state.path}`;
  // A "?" or "#" that replace or pathRegexp left in the path is part of the path, not a query or a fragment.
  if (/[?#]/.test(state.path)) state.path = state.path.replace(/\?/g, '%3F').replace(/#/g, '%23');
  if (climbs(state.path)) return { refuse: 'path-escapes' };
  if (d.authProxy) setIdentity(r.headers, r.identity.user, r.identity.group);
  if (d.wrapTransport) r.headers.set('x-forwarded-uri', r.url.pathname + r.url.search);
  const url = base + state.path + (state.query ? `?${state.query}` : '');
  if (!sameOrigin(url, base)) return { refuse: 'origin-changed' };
  return { send: { url, method, headers: r.headers }, ctx, path: state.path, query: state.query };
}

const origins = new Map<string, string>();

/** Whether `url` still names the origin of `base` (which may carry a path prefix). */
export function sameOrigin(url: string, base: string): boolean {
  try {
    let origin = origins.get(base);
    if (origin === undefined) {
      origin = new URL(base).origin;
      if (origins.size > 1000) origins.clear();
      origins.set(base, origin);
    }
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}
