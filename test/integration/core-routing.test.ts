/** SPEC §2, §3, §6: dispatch, proxying and error bodies, with the worker in workerd and real upstreams. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiService, jsBundle, reverseProxy, startGateway, type Gateway } from '../support/gateway';
import { startUpstream, type Upstream } from '../support/upstream';

let up: Upstream;
let core: Upstream;
let gw: Gateway;

const js = Buffer.from('console.log("hello from a bundle");').toString('base64');

beforeAll(async () => {
  up = await startUpstream();
  core = await startUpstream();
  const manifests = [
    apiService('v1.demo', { group: 'demo.io', version: 'v1', url: up.origin + '/ignored-path' }),
    apiService('v1.down', { group: 'down.io', version: 'v1', url: up.origin }, {}, 'Disabled'),
    apiService('v1.incluster', { group: 'svc.io', version: 'v1', service: { namespace: 'ns', name: 'api', port: 8443 } }),
    reverseProxy('a-exact', { matcher: { path: '/proxy/app/exact', method: 'GET' }, upstream: { url: up.origin }, directives: { headerUp: ['X-Which exact'] } }),
    reverseProxy('b-prefix', { matcher: [{ path: '/proxy/app/*', method: '*' }], upstream: { url: up.origin }, directives: { stripPathPrefix: '/proxy/app', headerUp: ['X-Which prefix'], headerDown: ['X-Down yes', '-X-Secret'] } }),
    reverseProxy('c-longer', { matcher: { path: '/proxy/app/deep/*', method: 'POST' }, upstream: { url: up.origin }, directives: { headerUp: ['X-Which longer'] } }),
    reverseProxy('d-unavailable', { matcher: { path: '/proxy/app/deep/down/*' }, upstream: { url: up.origin } }, {}, 'Installing'),
    reverseProxy('e-invalid', { matcher: { path: '/proxy/broken/*' }, upstream: { url: up.origin }, directives: { headerUp: ['X:Bad value'] } }),
    reverseProxy('f-reserved', { matcher: { path: '/kapis/demo.io/v1/*' }, upstream: { url: up.origin } }),
    reverseProxy('g-empty', { matcher: { path: '/proxy/empty*' }, upstream: { url: up.origin }, directives: { stripPathPrefix: '/proxy/empty' } }),
    jsBundle('ext-a', { raw: js }, { labels: { 'kubesphere.io/extension-ref': 'ext-a' } }),
    jsBundle('ext-off', { raw: js }, { labels: { 'kubesphere.io/extension-ref': 'ext-off' } }, 'Disabled'),
  ].join('');
  gw = await startGateway({ manifests, vars: { CORE_ORIGIN: core.origin } });
});

afterAll(async () => {
  await gw?.close();
  await up?.close();
  await core?.close();
});

const lastSeen = (u: Upstream) => u.seen[u.seen.length - 1]!;

describe('APIService', () => {
  it('proxies the full path unchanged with the query, identity headers and forwarding headers', async () => {
    const res = await gw.fetch('/kapis/demo.io/v1/namespaces/x/things?limit=2&b=%2F', {
      headers: { Authorization: 'Basic dTpw', 'X-Remote-User': 'forged', 'X-Remote-Extra-Foo': 'x', 'X-Forwarded-For': '6.6.6.6' },
    });
    expect(res.status).toBe(200);
    const seen = lastSeen(up);
    expect(seen.url).toBe('/kapis/demo.io/v1/namespaces/x/things?limit=2&b=%2F');
    expect(seen.headers.authorization).toBe('Basic dTpw');
    expect(seen.headers['x-remote-user']).toBe('system:anonymous');
    expect(seen.headers['x-remote-group']).toBe('system:unauthenticated');
    expect(seen.headers['x-remote-extra-foo']).toBeUndefined();
    expect(seen.headers['x-forwarded-for']).not.toContain('6.6.6.6');
    expect(seen.headers['x-forwarded-host']).toBe(new URL(gw.url).host);
    expect(seen.headers['x-forwarded-proto']).toBe('http');
  });

  it('needs a segment after group/version', async () => {
    for (const path of ['/kapis/demo.io/v1', '/kapis/demo.io/v1/']) {
      core.seen.length = 0;
      const res = await gw.fetch(path);
      expect(res.status).toBe(200);
      expect(lastSeen(core).url).toBe(path); // went to CORE_ORIGIN, not the APIService
    }
  });

  it('answers 503 with an ErrStatus body when not Available', async () => {
    const res = await gw.fetch('/kapis/down.io/v1/x');
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ ErrStatus: { metadata: {}, status: 'Failure', message: 'apiService v1.down is not available', reason: 'ServiceUnavailable', code: 503 } });
  });

  it('answers 502 naming CLUSTER_ORIGIN for an unmapped in-cluster service', async () => {
    const res = await gw.fetch('/kapis/svc.io/v1/x');
    expect(res.status).toBe(502);
    const body = (await res.json()) as { ErrStatus: { message: string; reason: string } };
    expect(body.ErrStatus.reason).toBe('BadGateway');
    expect(body.ErrStatus.message).toMatch(/^Error while proxying request: .*CLUSTER_ORIGIN/);
  });

  it('passes upstream errors through unchanged', async () => {
    up.routes.set('/kapis/demo.io/v1/teapot', (_q, res) => { res.writeHead(418, { 'content-type': 'text/plain' }); res.end('short and stout'); });
    const res = await gw.fetch('/kapis/demo.io/v1/teapot');
    expect(res.status).toBe(418);
    expect(await res.text()).toBe('short and stout');
  });
});

describe('ReverseProxy matching and priority', () => {
  it('prefers the exact path', async () => {
    await gw.fetch('/proxy/app/exact');
    expect(lastSeen(up).headers['x-which']).toBe('exact');
  });

  it('an exact matcher with another method does not claim the request', async () => {
    await gw.fetch('/proxy/app/exact', { method: 'DELETE' });
    expect(lastSeen(up).headers['x-which']).toBe('prefix');
  });

  it('prefers the longest prefix whose method matches', async () => {
    await gw.fetch('/proxy/app/deep/x', { method: 'POST', body: 'payload' });
    expect(lastSeen(up).headers['x-which']).toBe('longer');
    expect(lastSeen(up).body).toBe('payload');
    await gw.fetch('/proxy/app/deep/x');
    expect(lastSeen(up).headers['x-which']).toBe('prefix');
  });

  it('applies stripPathPrefix and headerDown set/delete', async () => {
    up.routes.set('/hello', (_q, res) => { res.writeHead(200, { 'x-secret': 's', 'content-type': 'text/plain' }); res.end('hi'); });
    const res = await gw.fetch('/proxy/app/hello?q=1');
    expect(lastSeen(up).url).toBe('/hello?q=1');
    expect(res.headers.get('x-down')).toBe('yes');
    expect(res.headers.get('x-secret')).toBeNull();
  });

  it('a best match that is not Available answers 503 and never falls through', async () => {
    up.seen.length = 0;
    const res = await gw.fetch('/proxy/app/deep/down/x');
    expect(res.status).toBe(503);
    expect(((await res.json()) as { ErrStatus: { message: string } }).ErrStatus.message).toBe('reverseProxy d-unavailable is not available');
    expect(up.seen).toHaveLength(0);
  });

  it('an invalid resource claims its path with 503 and the reason', async () => {
    const res = await gw.fetch('/proxy/broken/x');
    expect(res.status).toBe(503);
    const msg = ((await res.json()) as { ErrStatus: { message: string } }).ErrStatus.message;
    expect(msg).toContain('reverseProxy e-invalid is invalid');
    expect(msg).toContain('headerUp "X:Bad value"');
  });

  it('a resource claiming a reserved prefix claims nothing', async () => {
    await gw.fetch('/kapis/demo.io/v1/things');
    expect(lastSeen(up).headers['x-remote-user']).toBe('system:anonymous'); // the APIService, not the proxy
    const report = gw.lastExport.resources.find((r) => r.name === 'f-reserved')!;
    expect(report.problems.join()).toContain('claims /kapis/');
    expect(report.routes).toEqual([]);
  });

  it('redirects a GET whose path ends up empty to the path plus "/", keeping the query', async () => {
    const res = await gw.fetch('/proxy/empty?x=1');
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe('/proxy/empty/?x=1');
    const post = await gw.fetch('/proxy/empty', { method: 'POST', body: 'b' });
    expect(post.status).toBe(200);
    expect(lastSeen(up).url).toBe('/');
  });
});

describe('JSBundle', () => {
  it('serves the main link with type, strong ETag, 304 and HEAD', async () => {
    const res = await gw.fetch('/dist/ext-a/index.js');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/javascript; charset=utf-8');
    expect(await res.text()).toBe('console.log("hello from a bundle");');
    const etag = res.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
    const again = await gw.fetch('/dist/ext-a/index.js', { headers: { 'If-None-Match': etag } });
    expect(again.status).toBe(304);
    const head = await gw.fetch('/pstatic/dist/ext-a/index.js', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('etag')).toBe(etag);
    expect(await head.text()).toBe('');
  });

  it.each([
    ['*', '*'], ['a weak match', 'W/{etag}'], ['a list holding it', '"other", {etag} , "x"'], ['a list with the weak form', '"a", W/{etag}'],
  ])('answers 304 for If-None-Match %s, to GET and HEAD', async (_n, header) => {
    const etag = (await gw.fetch('/dist/ext-a/index.js')).headers.get('etag')!;
    for (const method of ['GET', 'HEAD']) {
      const res = await gw.fetch('/dist/ext-a/index.js', { method, headers: { 'If-None-Match': header.replace('{etag}', etag) } });
      expect(res.status, `${method} ${header}`).toBe(304);
      expect(res.headers.get('etag')).toBe(etag);
    }
    expect((await gw.fetch('/dist/ext-a/index.js', { headers: { 'If-None-Match': '"other", W/"x"' } })).status).toBe(200);
  });

  it('a bundle that is not Available falls through (here to CORE_ORIGIN)', async () => {
    core.seen.length = 0;
    const res = await gw.fetch('/dist/ext-off/index.js');
    expect(res.status).toBe(200);
    expect(lastSeen(core).url).toBe('/dist/ext-off/index.js');
  });
});

describe('everything else', () => {
  it('goes to CORE_ORIGIN with the session cookie intact', async () => {
    const res = await gw.fetch('/console/page', { headers: { Cookie: 'token=abc; lang=en' } });
    expect(res.status).toBe(200);
    expect(lastSeen(core).headers.cookie).toBe('token=abc; lang=en');
  });
});
