/** Directives end to end in workerd: order, method switching, authProxy, wrapTransport, rejectForwardingRedirects. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reverseProxy, startGateway, type Gateway } from '../support/gateway';
import { startUpstream, type Upstream } from '../support/upstream';
import { hs256, JWT_SECRET } from '../support/tokens';

let up: Upstream;
let gw: Gateway;
let token: string;

beforeAll(async () => {
  up = await startUpstream();
  up.routes.set('/redirect', (_q, res) => { res.writeHead(302, { location: '/elsewhere' }); res.end(); });
  up.routes.set('/cors', (_q, res) => {
    res.writeHead(200, { 'access-control-allow-origin': '*', 'access-control-allow-headers': 'x', 'access-control-expose-headers': 'y' });
    res.end('ok');
  });
  const u = { url: up.origin };
  gw = await startGateway({
    vars: { JWT_SECRET, AUTH: '', AUTHZ: 'none' },
    manifests: [
      reverseProxy('order', { matcher: { path: '/proxy/order/*' }, upstream: u, directives: {
        method: 'PUT', stripPathPrefix: '/proxy/order', stripPathSuffix: '.html',
        headerUp: ['X-Seen-Path {path}', 'X-Seen-Method {method}', 'X-User {user}'],
        rewrite: ['/docs/* /manual{path}?from={query}'], replace: ['/manual/docs/ /manual/'], pathRegexp: ['^/manual/(.*)$ /m/$1'],
      } }),
      reverseProxy('to-get', { matcher: { path: '/proxy/to-get' }, upstream: u, directives: { method: 'GET' } }),
      reverseProxy('identity', { matcher: { path: '/proxy/identity' }, upstream: u, directives: { authProxy: true } }),
      reverseProxy('no-identity', { matcher: { path: '/proxy/no-identity' }, upstream: u }),
      reverseProxy('wrap', { matcher: { path: '/proxy/wrap/*' }, upstream: u, directives: { stripPathPrefix: '/proxy/wrap', wrapTransport: true } }),
      reverseProxy('reject', { matcher: { path: '/proxy/reject/*' }, upstream: u, directives: { stripPathPrefix: '/proxy/reject', rejectForwardingRedirects: true } }),
      reverseProxy('pass', { matcher: { path: '/proxy/pass/*' }, upstream: u, directives: { stripPathPrefix: '/proxy/pass' } }),
      reverseProxy('escape', { matcher: { path: '/proxy/esc/*' }, upstream: u }),
    ].join(''),
  });
  token = await hs256({ username: 'alice' });
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
});

const last = () => up.seen[up.seen.length - 1]!;
const auth = () => ({ Authorization: `Bearer ${token}` });

describe('directive order', () => {
  it('method → strip prefix/suffix → headerUp → rewrite → replace → pathRegexp', async () => {
    const res = await gw.fetch('/proxy/order/docs/intro.html?v=2', { headers: auth() });
    expect(res.status).toBe(200);
    expect(last().method).toBe('PUT');
    expect(last().url).toBe('/m/intro?from=v%3D2'); // a placeholder value is query-escaped (Caddy's buildQueryString)
    expect(last().headers['x-seen-path']).toBe('/docs/intro'); // headerUp sees the stripped path, before rewrite
    expect(last().headers['x-seen-method']).toBe('PUT');
    expect(last().headers['x-user']).toBe('alice');
  });

  it('switching to GET drops the body', async () => {
    await gw.fetch('/proxy/to-get', { method: 'POST', body: 'dropped', headers: auth() });
    expect(last().method).toBe('GET');
    expect(last().body).toBe('');
  });
});

describe('identity', () => {
  it('authProxy sets X-Remote-User/Group; without it they are removed, never forged', async () => {
    await gw.fetch('/proxy/identity', { headers: { ...auth(), 'X-Remote-User': 'mallory' } });
    expect(last().headers).toMatchObject({ 'x-remote-user': 'alice', 'x-remote-group': 'system:authenticated' });
    await gw.fetch('/proxy/no-identity', { headers: { ...auth(), 'X-Remote-User': 'mallory', 'X-Remote-Group': 'system:masters' } });
    expect(last().headers['x-remote-user']).toBeUndefined();
    expect(last().headers['x-remote-group']).toBeUndefined();
  });
});

describe('wrapTransport and redirects', () => {
  it('wrapTransport sets X-Forwarded-Uri and removes Access-Control-Allow-*', async () => {
    const res = await gw.fetch('/proxy/wrap/cors?a=1', { headers: auth() });
    expect(last().headers['x-forwarded-uri']).toBe('/proxy/wrap/cors?a=1');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-allow-headers')).toBeNull();
    expect(res.headers.get('access-control-expose-headers')).toBe('y');
  });

  it('rejectForwardingRedirects turns a 3xx into 502; otherwise redirects pass through', async () => {
    const rejected = await gw.fetch('/proxy/reject/redirect', { headers: auth() });
    expect(rejected.status).toBe(502);
    expect(((await rejected.json()) as { ErrStatus: { reason: string } }).ErrStatus.reason).toBe('BadGateway');
    const passed = await gw.fetch('/proxy/pass/redirect', { headers: auth() });
    expect(passed.status).toBe(302);
    expect(passed.headers.get('location')).toBe('/elsewhere');
  });
});

describe('paths', () => {
  it('an encoded escape from the matched prefix is refused with 400; encoding is otherwise preserved', async () => {
    up.seen.length = 0;
    const res = await gw.fetch('/proxy/esc/..%2F..%2Fadmin', { headers: auth() });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { reason: string }).reason).toBe('BadRequest');
    expect(up.seen).toHaveLength(0);
    await gw.fetch('/proxy/esc/a%2Fb%20c?q=%2F', { headers: auth() });
    expect(last().url).toBe('/proxy/esc/a%2Fb%20c?q=%2F');
  });
});
