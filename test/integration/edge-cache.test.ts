/**
 * The edge cache (`ks-edge.io/cache`) through workerd with Miniflare's real Cache API, in front of a real upstream
 * that counts what reaches it; KubeSphere's authorization on.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiService, reverseProxy, startGateway, yamlDoc, type Gateway } from '../support/gateway';
import { hs256, JWT_SECRET } from '../support/tokens';
import { startUpstream, type Upstream } from '../support/upstream';

const IAM = 'iam.kubesphere.io/v1beta1';
const GZIPPED = 'console.log("hello");\n'.repeat(200);
const iam = (kind: string, name: string, body: Record<string, unknown>) => yamlDoc({ apiVersion: IAM, kind, metadata: { name }, ...body });
const user = (name: string) => iam('User', name, { spec: { email: `${name}@x.io` }, status: { state: 'Active' } });
const grant = (name: string, urls: string[], who: string) =>
  iam('GlobalRole', name, { rules: [{ nonResourceURLs: urls, verbs: ['GET', 'HEAD', 'POST'] }] })
  + iam('GlobalRoleBinding', `${who}-${name}`, { roleRef: { apiGroup: 'iam.kubesphere.io', kind: 'GlobalRole', name }, subjects: [{ apiGroup: 'iam.kubesphere.io', kind: 'User', name: who }] });
const cached = (ttl: string, extra: Record<string, string> = {}) => ({ annotations: { 'ks-edge.io/cache': ttl, ...extra } });

let up: Upstream;
let gw: Gateway;
const manifests = (origin: string, version = '1') => [
  // The document's own example: static images under /res/, public.
  reverseProxy('images', { matcher: { path: '/res/example.kubesphere.io/images/*', method: 'GET' }, upstream: { url: origin },
    directives: { headerUp: [`X-Manifest ${version}`], headerDown: ['Content-Type image/jpeg', 'X-Down {path}'] } },
  { ...cached('300s', { 'ks-edge.io/allow-anonymous': 'true' }) }),
  // Signed-in callers only; the token is not sent upstream, so the answer is the same for all of them.
  reverseProxy('assets', { matcher: { path: '/res/private.example.io/*', method: 'GET' }, upstream: { url: origin }, directives: { headerUp: ['-Authorization'] } }, cached('1h')),
  reverseProxy('mine', { matcher: { path: '/res/mine.example.io/*', method: 'GET' }, upstream: { url: origin }, directives: { headerUp: ['-Authorization'] } }, cached('1h', { 'ks-edge.io/cache-key': 'user' })),
  reverseProxy('tenant', { matcher: { path: '/res/tenant.example.io/*', method: 'GET' }, upstream: { url: origin },
    directives: { headerUp: ['X-Tenant {header.X-Tenant}'] } }, cached('1h', { 'ks-edge.io/allow-anonymous': 'true' })),
  reverseProxy('forwarding', { matcher: { path: '/res/forwarding.example.io/*', method: '*' }, upstream: { url: origin } }, cached('1h')),
  apiService('v1.cached.io', { group: 'cached.io', version: 'v1', url: origin }, cached('1h', { 'ks-edge.io/allow-anonymous': 'true' })),
  user('alice'), user('bob'),
  grant('assets', ['/res/private.example.io/*', '/res/mine.example.io/*', '/res/forwarding.example.io/*'], 'alice'),
  grant('mine', ['/res/mine.example.io/*'], 'bob'),
  grant('status', ['/_gateway/status', '/_gateway/explain'], 'alice'),
].join('');

const hits = (path: string) => up.seen.filter((s) => s.url === path).length;
const as = async (who: string) => ({ Authorization: `Bearer ${await hs256({ username: who })}` });

beforeAll(async () => {
  up = await startUpstream();
  up.routes.set('/res/example.kubesphere.io/images/cookie.jpg', (_q, res) => res.writeHead(200, { 'set-cookie': 'a=1' }).end('c'));
  up.routes.set('/res/example.kubesphere.io/images/no-store.jpg', (_q, res) => res.writeHead(200, { 'cache-control': 'no-store' }).end('n'));
  up.routes.set('/res/example.kubesphere.io/images/private.jpg', (_q, res) => res.writeHead(200, { 'cache-control': 'private, max-age=60' }).end('p'));
  up.routes.set('/res/example.kubesphere.io/images/vary.jpg', (_q, res) => res.writeHead(200, { vary: 'Accept-Language' }).end('v'));
  up.routes.set('/res/example.kubesphere.io/images/range.jpg', (_q, res) => res.writeHead(200, { etag: '"r1"', 'last-modified': 'Tue, 01 Dec 2026 00:00:00 GMT' }).end('abcdefghij'));
  up.routes.set('/res/example.kubesphere.io/images/gzip.js', (_q, res) => res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/javascript' }).end(gzipSync(GZIPPED)));
  up.routes.set('/res/example.kubesphere.io/images/big.bin', (_q, res) => res.writeHead(200).end(Buffer.alloc(5_000_000, 7)));
  up.routes.set('/res/example.kubesphere.io/images/short.jpg', (_q, res) => res.writeHead(200, { 'cache-control': 'public, max-age=1' }).end('s'));
  gw = await startGateway({ manifests: manifests(up.origin), vars: { JWT_SECRET, AUTH: '', SNAPSHOT_REFRESH_SECONDS: '1' } });
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
});

describe('what is cached', () => {
  it('two anonymous requests for an image: one upstream hit, headerDown on both, Age on the hit', async () => {
    const path = '/res/example.kubesphere.io/images/logo.jpg';
    const a = await gw.fetch(path);
    expect(a.status).toBe(200);
    expect(a.headers.get('x-cache')).toBe('MISS');
    const body = await a.text();
    const b = await gw.fetch(path);
    expect(b.headers.get('x-cache')).toBe('HIT');
    expect(await b.text()).toBe(body);
    expect(hits(path)).toBe(1);
    for (const r of [a, b]) {
      expect(r.headers.get('content-type')).toBe('image/jpeg');
      expect(r.headers.get('x-down')).toBe(path);
    }
    expect(Number(b.headers.get('age'))).toBeGreaterThanOrEqual(0);
    expect(a.headers.get('age')).toBeNull();
    expect(b.headers.get('server-timing')).toContain('cache;desc=HIT');
    // The store's bookkeeping never shows.
    expect([...b.headers.keys()].filter((k) => k.startsWith('x-ks-edge-'))).toEqual([]);
  });

  it.each([
    ['Set-Cookie', '/res/example.kubesphere.io/images/cookie.jpg'],
    ['Cache-Control: no-store', '/res/example.kubesphere.io/images/no-store.jpg'],
    ['Cache-Control: private', '/res/example.kubesphere.io/images/private.jpg'],
    ['Vary: Accept-Language', '/res/example.kubesphere.io/images/vary.jpg'],
  ])('an answer with %s is never kept', async (_what, path) => {
    for (let i = 0; i < 3; i++) expect((await gw.fetch(path)).headers.get('x-cache')).toBe('BYPASS');
    expect(hits(path)).toBe(3);
  });

  it('POST is never cached; nor is a request that forwards Authorization', async () => {
    const path = '/res/forwarding.example.io/x';
    for (let i = 0; i < 2; i++) {
      const res = await gw.fetch(path, { headers: await as('alice') });
      expect(res.headers.get('x-cache')).toBe('BYPASS');
    }
    expect(hits(path)).toBe(2);
    const post = await gw.fetch(path, { method: 'POST', body: 'x', headers: await as('alice') });
    expect(post.headers.get('x-cache')).toBe('BYPASS');
  });

  it('a different query is a different entry', async () => {
    const path = '/res/example.kubesphere.io/images/q.jpg';
    await gw.fetch(`${path}?v=1`);
    await gw.fetch(`${path}?v=2`);
    expect((await gw.fetch(`${path}?v=1`)).headers.get('x-cache')).toBe('HIT');
    expect(hits(`${path}?v=1`)).toBe(1);
    expect(hits(`${path}?v=2`)).toBe(1);
  });

  it('a compressed answer is served once decoded, hit or miss; a large body whole', async () => {
    for (const path of ['/res/example.kubesphere.io/images/gzip.js', '/res/example.kubesphere.io/images/big.bin']) {
      const miss = await gw.fetch(path);
      const missBody = Buffer.from(await miss.arrayBuffer());
      const hit = await gw.fetch(path);
      expect(hit.headers.get('x-cache'), path).toBe('HIT');
      expect(Buffer.from(await hit.arrayBuffer()).equals(missBody), path).toBe(true);
      expect(hits(path)).toBe(1);
    }
    expect((await (await gw.fetch('/res/example.kubesphere.io/images/gzip.js')).text())).toBe(GZIPPED);
  });

  it('the upstream\'s max-age wins when shorter', async () => {
    const path = '/res/example.kubesphere.io/images/short.jpg';
    await gw.fetch(path);
    expect((await gw.fetch(path)).headers.get('x-cache')).toBe('HIT');
    await new Promise((r) => setTimeout(r, 2100));
    expect((await gw.fetch(path)).headers.get('x-cache')).toBe('MISS');
    expect(hits(path)).toBe(2);
  });

  it('conditional requests get 304 and ranges 206, from the cache; a miss fetches the whole answer', async () => {
    const path = '/res/example.kubesphere.io/images/range.jpg';
    const first = await gw.fetch(path, { headers: { 'If-None-Match': '"r1"' } });
    expect(first.status).toBe(304);
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(up.seen.at(-1)!.headers['if-none-match']).toBeUndefined();
    const again = await gw.fetch(path, { headers: { 'If-None-Match': '"r1"' } });
    expect(again.status).toBe(304);
    expect(again.headers.get('x-cache')).toBe('HIT');
    const since = await gw.fetch(path, { headers: { 'If-Modified-Since': 'Wed, 02 Dec 2026 00:00:00 GMT' } });
    expect(since.status).toBe(304);
    const range = await gw.fetch(path, { headers: { Range: 'bytes=2-4' } });
    expect(range.status).toBe(206);
    expect(await range.text()).toBe('cde');
    expect(range.headers.get('x-cache')).toBe('HIT');
    expect(range.headers.get('content-type')).toBe('image/jpeg');
    expect(hits(path)).toBe(1);
  });
});

describe('after authorization, never instead of it', () => {
  it('a primed entry is not served to an anonymous, a forbidden or an invalid caller', async () => {
    const path = '/res/private.example.io/app.js';
    expect((await gw.fetch(path, { headers: await as('alice') })).headers.get('x-cache')).toBe('MISS');
    expect((await gw.fetch(path, { headers: await as('alice') })).headers.get('x-cache')).toBe('HIT');
    const anonymous = await gw.fetch(path);
    expect(anonymous.status).toBe(403);
    expect(anonymous.headers.get('x-cache')).toBeNull();
    const bob = await gw.fetch(path, { headers: await as('bob') });
    expect(bob.status).toBe(403);
    expect(await bob.text()).toContain('cannot GET path');
    expect((await gw.fetch(path, { headers: { Authorization: 'Bearer not.a.jwt' } })).status).toBe(401);
    expect(hits(path)).toBe(1);
  });

  it('cache-key: user keeps one copy per user', async () => {
    const path = '/res/mine.example.io/me';
    await gw.fetch(path, { headers: await as('alice') });
    await gw.fetch(path, { headers: await as('bob') });
    expect((await gw.fetch(path, { headers: await as('alice') })).headers.get('x-cache')).toBe('HIT');
    expect((await gw.fetch(path, { headers: await as('bob') })).headers.get('x-cache')).toBe('HIT');
    expect(hits(path)).toBe(2);
  });

  it('a header that headerUp sends upstream is part of the key: it cannot poison another caller\'s entry', async () => {
    const path = '/res/tenant.example.io/home';
    const evil = await gw.fetch(path, { headers: { 'X-Tenant': 'evil' } });
    expect(((await evil.json()) as { headers: Record<string, string> }).headers['x-tenant']).toBe('evil');
    const good = await gw.fetch(path, { headers: { 'X-Tenant': 'good' } });
    expect(good.headers.get('x-cache')).toBe('MISS');
    expect(((await good.json()) as { headers: Record<string, string> }).headers['x-tenant']).toBe('good');
    expect(hits(path)).toBe(2);
  });

  it('an APIService caches what it may: anonymous answers once; a signed-in caller forwards Authorization (BYPASS)', async () => {
    const path = '/kapis/cached.io/v1/things';
    await gw.fetch(path);
    expect((await gw.fetch(path)).headers.get('x-cache')).toBe('HIT');
    expect((await gw.fetch(path, { headers: await as('alice') })).headers.get('x-cache')).toBe('BYPASS');
    expect(hits(path)).toBe(2);
  });
});

describe('right by construction', () => {
  it('a new snapshot of the route is a miss', async () => {
    const path = '/res/example.kubesphere.io/images/versioned.jpg';
    await gw.fetch(path);
    expect((await gw.fetch(path)).headers.get('x-cache')).toBe('HIT');
    await gw.publish(manifests(up.origin, '2'));
    let res = await gw.fetch(path);
    for (let i = 0; i < 60 && res.headers.get('x-cache') === 'HIT'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      res = await gw.fetch(path);
    }
    expect(res.headers.get('x-cache')).toBe('MISS');
    expect(((await res.json()) as { headers: Record<string, string> }).headers['x-manifest']).toBe('2');
    expect(hits(path)).toBe(2);
  });

  it('the status page and the explainer show the route\'s cache setting and whether a request is cacheable', async () => {
    const s = (await (await gw.fetch('/_gateway/status', { headers: await as('alice') })).json()) as {
      edgeCache: { available: boolean; hits: number }; resources: { name: string; cache: unknown }[];
    };
    expect(s.edgeCache.available).toBe(true);
    expect(s.edgeCache.hits).toBeGreaterThan(0);
    expect(s.resources.find((r) => r.name === 'images')!.cache).toEqual({ ttlSeconds: 300, key: 'shared' });
    expect(s.resources.find((r) => r.name === 'mine')!.cache).toEqual({ ttlSeconds: 3600, key: 'user' });
    const explain = async (q: string) => (await (await gw.fetch(`/_gateway/explain?${q}`, { headers: await as('alice') })).json()) as { cache: { cacheable: string; key: string } | null };
    expect((await explain('path=/res/example.kubesphere.io/images/a.jpg')).cache!.cacheable).toMatch(/^yes/);
    expect((await explain('method=POST&path=/res/forwarding.example.io/a')).cache!.cacheable).toBe('no: POST is never cached');
    expect((await explain('path=/res/forwarding.example.io/a&user=alice')).cache!.cacheable).toContain('forwards Authorization');
    expect((await explain('path=/res/private.example.io/a&user=alice')).cache!.cacheable).toMatch(/^yes/);
    expect((await explain('path=/proxy/none')).cache ?? null).toBeNull();
  });
});

describe('plain workerd, which has no cache service', () => {
  it('serves a cached route uncached, and the status page says why', async () => {
    const { serveOnWorkerd } = await import('../support/workerd');
    const served = await serveOnWorkerd({ manifests: manifests(up.origin) });
    try {
      const path = '/res/example.kubesphere.io/images/plain.jpg';
      for (let i = 0; i < 2; i++) {
        const res = await fetch(served.url + path);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('image/jpeg');
        expect(res.headers.get('x-cache')).toBe('MISS');
      }
      expect(hits(path)).toBe(2);
      const s = (await (await fetch(`${served.url}/_gateway/status`)).json()) as { edgeCache: { available: boolean; why: string } };
      expect(s.edgeCache).toMatchObject({ available: false, why: expect.stringContaining('plain workerd has no cache service') });
    } finally {
      await served.close();
    }
  });
});
