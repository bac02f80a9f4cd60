/**
 * `/_gateway/explain?method=GET&path=/proxy/x/y[&user=alice]`: what the gateway would do with that request —
 * which cluster and resource take it and why, whether authorization would allow it, and for a ReverseProxy the
 * URL it would send upstream — through the same functions a real request goes through, with nothing sent.
 * Authorized as the non-resource request `GET /_gateway/explain`.
 */
import type { Handler } from 'hono';
import { ANONYMOUS, authenticated, type Identity } from '../auth/identity';
import { authorization, authorize } from '../authz/guard';
import { staysWithin } from '../directives/path';
import { leavesApiService } from './api-service';
import { explainCache } from '../cache/cacheable';
import type { AppEnv } from '../env';
import { clusterRoute } from '../fleet/cluster-route';
import { resolveOrigin } from '../proxy/cluster-origin';
import { planReverseProxy } from '../proxy/reverse-proxy-plan';
import { redactUrl } from '../redact';
import { routingPath, type RouteTable } from '../route-table';
import { loaded } from '../snapshot/lazy-part';

export const explain: Handler<AppEnv> = async (c) => {
  c.get('trace').route = { kind: 'gateway', name: 'explain' };
  const refused = await authorize(c, false);
  if (refused) return refused;
  const method = (c.req.query('method') || 'GET').toUpperCase();
  const path = c.req.query('path') || '/';
  const user = c.req.query('user');
  let url: URL;
  try {
    url = new URL(path.startsWith('/') ? path : `/${path}`, c.req.url);
  } catch {
    return c.json({ error: `not a path: ${JSON.stringify(path)}` }, 400);
  }
  const identity: Identity = user ? authenticated(user) : ANONYMOUS;
  const route = await clusterRoute(c.env, c.executionCtx, url);
  const base = { request: `${method} ${url.pathname}${url.search}`, user: identity.user, cluster: route.cluster };
  return c.json({ ...base, ...(await loaded(() => what(c.env, route.table, method, route.url, identity, route.cluster, url.pathname))) });
};

function what(env: AppEnv['Bindings'], table: RouteTable | undefined, method: string, url: URL, identity: Identity, cluster: string, clientPath: string) {
  if (!table) return { answer: 'no snapshot is loaded for this cluster: extension paths answer 503, others go to CORE_ORIGIN' };
  const path = routingPath(url.pathname);
  const bundle = (method === 'GET' || method === 'HEAD') ? table.matchBundle(url.pathname) : undefined;
  if (bundle) return { kind: 'JSBundle', name: bundle.bundle, why: `the link ${bundle.link} of JSBundle ${bundle.bundle}`, authorization: 'public (/dist/* is always allowed)', answer: bundle.error ? `503: ${bundle.error}` : '200 from KV' };
  const rp = table.matchReverseProxy(path, method);
  if (rp) {
    const { route, matcher } = rp;
    const why = `matcher ${route.matchers.find((m) => m.path === matcher)?.method ?? '*'} ${matcher} of ReverseProxy ${route.name} (exact paths first, then the longest prefix, a named method before *, then the name)`;
    if (matcher.endsWith('*') && !staysWithin(url.pathname, matcher.slice(0, -1))) return { kind: 'ReverseProxy', name: route.name, why, answer: '400: the path leaves the prefix it matched once decoded' };
    const authz = decision(env, table, method, url, identity, route.policy.allowAnonymous);
    if (!route.available || !route.upstream) return { kind: 'ReverseProxy', name: route.name, why, authorization: authz, answer: `503: ${route.unavailable ?? 'not available'}` };
    const origin = resolveOrigin(route.upstream, env, cluster);
    // A signed-in caller's Authorization goes upstream unless headerUp removes it: the cache's answer depends on it.
    const sent = new Headers(identity.anonymous ? {} : { authorization: 'Bearer (the caller\'s token)' });
    const plan = 'error' in origin ? undefined : planReverseProxy(route.directives, origin.base, {
      url, method, clientHeaders: new Headers(), headers: sent, clientIp: undefined, identity, clientPath,
    });
    const cache = explainCache(route.policy.cache, plan && 'send' in plan ? plan.send.method : method, new Headers(), sent, route.directives.authProxy && !identity.anonymous);
    const upstream = plan && 'send' in plan ? `${plan.send.method} ${redactUrl(plan.send.url)}` : undefined;
    return { kind: 'ReverseProxy', name: route.name, why, authorization: authz, policy: route.policy, cache, upstream: upstream ?? null,
      answer: 'error' in origin ? `502: ${origin.error}` : plan && 'redirect' in plan ? `301 to ${plan.redirect}` : plan && 'refuse' in plan ? '400: the directives leave the path' : 'proxied' };
  }
  const api = table.matchApiService(path);
  if (api) {
    const why = `APIService ${api.name} claims /kapis/${api.group}/${api.version}/`;
    if (leavesApiService(url.pathname, api)) return { kind: 'APIService', name: api.name, why, answer: '400: the path leaves the prefix it matched once decoded' };
    const authz = decision(env, table, method, url, identity, api.policy.allowAnonymous);
    if (!api.available || !api.upstream) return { kind: 'APIService', name: api.name, why, authorization: authz, answer: `503: ${api.unavailable ?? 'not available'}` };
    const origin = resolveOrigin(api.upstream, env, cluster);
    const cache = explainCache(api.policy.cache, method, new Headers(), new Headers(identity.anonymous ? {} : { authorization: 'Bearer (the caller\'s token)' }), !identity.anonymous);
    return { kind: 'APIService', name: api.name, why, authorization: authz, policy: api.policy, cache,
      upstream: 'error' in origin ? null : `${method} ${redactUrl(origin.base + url.pathname + url.search)}`, answer: 'error' in origin ? `502: ${origin.error}` : 'proxied' };
  }
  return { kind: 'core', why: 'no JSBundle link, ReverseProxy matcher or APIService claims this path', answer: env.CORE_ORIGIN ? 'passed to CORE_ORIGIN unchanged' : '404: Page Not Found' };
}

function decision(env: AppEnv['Bindings'], table: RouteTable, method: string, url: URL, identity: Identity, allowAnonymous: boolean) {
  const o = authorization(env, table.authz, method, url, identity, allowAnonymous);
  return o.status ? `refused: ${o.status} ${o.message}` : `allowed: ${o.decision}`;
}
