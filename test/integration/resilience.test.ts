/**
 * SPEC §9 resilience on plain workerd with several isolates sharing the Durable Objects, against real upstreams
 * that fail on command (refuse connections, answer 500, hang): rate limits counted across isolates, circuit
 * breakers, retries and redirects.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiService, reverseProxy } from '../support/gateway';
import { freePort, serveOnWorkerd, type Served } from '../support/workerd';

let up: Server;
/** The retry tests' upstream: every answer closes its connection, so each request opens a new one. */
let flaky: Server;
let origin: string;
let gw: Served;
/** Requests the upstream saw, by path. */
const seen = new Map<string, number>();
let failing = false;
let dropConnections = 0;

const anno = (a: Record<string, string>) => ({ annotations: { 'ks-edge.io/allow-anonymous': 'true', ...a } });

beforeAll(async () => {
  up = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    seen.set(path, (seen.get(path) ?? 0) + 1);
    if (path.includes('/hang')) return void setTimeout(() => res.end('late'), 5000).unref();
    if (failing && (path.includes('/breaker') || path.includes('/shared'))) return void res.writeHead(500).end('down');
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`ok ${path}`);
  });
  flaky = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    seen.set(path, (seen.get(path) ?? 0) + 1);
    if (path.includes('/err')) return void res.writeHead(500, { connection: 'close' }).end('boom');
    res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' }).end(`ok ${path}`);
  });
  flaky.on('connection', (s: Socket) => {
    if (dropConnections > 0) {
      dropConnections--;
      s.destroy();
    }
  });
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => flaky.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(up.address() as AddressInfo).port}`;
  const flakyOrigin = `http://127.0.0.1:${(flaky.address() as AddressInfo).port}`;
  const u = { url: origin };
  gw = await serveOnWorkerd({
    isolates: 3,
    manifests: [
      reverseProxy('limited', { matcher: { path: '/proxy/limited/*' }, upstream: u }, anno({ 'ks-edge.io/rate-limit': '10/1h;key=route' })),
      reverseProxy('per-ip', { matcher: { path: '/proxy/per-ip/*' }, upstream: u }, anno({ 'ks-edge.io/rate-limit': '3/60s;key=ip;burst=2' })),
      apiService('api-limited', { group: 'limited.io', version: 'v1', url: origin }, anno({ 'ks-edge.io/rate-limit': '2/60s;key=route' })),
      reverseProxy('unlimited', { matcher: { path: '/proxy/unlimited/*' }, upstream: u }, anno({})),
      reverseProxy('breaker', { matcher: { path: '/proxy/breaker/*' }, upstream: u }, anno({ 'ks-edge.io/circuit-breaker': 'failures=3;window=30s;cooldown=1s' })),
      reverseProxy('breaker-shared', { matcher: { path: '/proxy/shared/*' }, upstream: u }, anno({ 'ks-edge.io/circuit-breaker': 'failures=3;window=30s;cooldown=30s' })),
      reverseProxy('hanging', { matcher: { path: '/proxy/hang/*' }, upstream: u }, anno({ 'ks-edge.io/circuit-breaker': 'failures=1;window=30s;cooldown=30s', 'ks-edge.io/timeout': '300ms' })),
      reverseProxy('refusing', { matcher: { path: '/proxy/refused/*' }, upstream: { url: `http://127.0.0.1:${await freePort()}` } }, anno({ 'ks-edge.io/circuit-breaker': 'failures=2;window=30s;cooldown=30s' })),
      reverseProxy('retrying', { matcher: { path: '/proxy/retry/*' }, upstream: { url: flakyOrigin } }, anno({ 'ks-edge.io/retries': '2' })),
      reverseProxy('moved', { matcher: { path: '/proxy/old/*' }, upstream: u }, anno({ 'ks-edge.io/redirect': '301 https://new.example.com{uri}' })),
      reverseProxy('moved-bad', { matcher: { path: '/proxy/bad/*' }, upstream: u }, anno({ 'ks-edge.io/redirect': '301 https://{header.Host}/x' })),
    ].join(''),
  });
});
afterAll(async () => {
  await gw?.close();
  for (const s of [up, flaky]) {
    s?.closeAllConnections();
    await new Promise((r) => s?.close(r));
  }
});

const isolates = () => [gw.url, ...gw.fronts];

/** Polls until `ok` holds (background reports land in waitUntil), at most `ms`. */
async function until<T>(probe: () => Promise<T>, ok: (t: T) => boolean, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const t = await probe();
    if (ok(t) || Date.now() > deadline) return t;
    await new Promise((r) => setTimeout(r, 25));
  }
}
const circuitOf = async (route: string, base = gw.url) =>
  ((await (await fetch(`${base}/_gateway/status`)).json()) as { circuits: { route: string; state: string }[] }).circuits.find((c) => c.route === route)?.state;

describe('rate limits', () => {
  it('20× the limit, spread over three isolates: exactly the limit gets through, the rest are 429 with the headers', async () => {
    const urls = isolates();
    const statuses: number[] = [];
    let refused: Response | undefined;
    // 200 requests, 10 in flight, round-robin over the isolates.
    for (let batch = 0; batch < 20; batch++) {
      const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => fetch(`${urls[(batch * 10 + i) % urls.length]}/proxy/limited/x`)));
      for (const r of rs) {
        statuses.push(r.status);
        if (r.status === 429 && !refused) refused = r;
        else await r.arrayBuffer();
      }
    }
    const allowed = statuses.filter((s) => s === 200).length;
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    expect(allowed).toBeGreaterThanOrEqual(10);
    expect(allowed).toBeLessThanOrEqual(11);
    expect(statuses.filter((s) => s === 429).length).toBe(200 - allowed);
    expect(seen.get('/proxy/limited/x')).toBe(allowed);
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused!.headers.get('ratelimit-policy')).toBe('"edge";q=10;w=3600;burst=10');
    expect(refused!.headers.get('ratelimit')).toMatch(/^"edge";r=0;t=\d+$/);
    expect(await refused!.json()).toMatchObject({ kind: 'Status', reason: 'TooManyRequests', code: 429 });
  });

  it('key=ip counts each client address apart; allowed answers carry the headers; an unlimited route has none', async () => {
    const from = (ip: string) => fetch(`${gw.url}/proxy/per-ip/x`, { headers: { 'CF-Connecting-IP': ip } });
    const a = [await from('203.0.113.1'), await from('203.0.113.1'), await from('203.0.113.1')].map((r) => r.status);
    expect(a).toEqual([200, 200, 429]); // burst=2
    const b = await from('203.0.113.2');
    expect(b.status).toBe(200);
    expect(b.headers.get('ratelimit')).toMatch(/^"edge";r=1;t=\d+$/);
    expect((await fetch(`${gw.url}/proxy/unlimited/x`)).headers.get('ratelimit')).toBeNull();
  });

  it('applies to APIService routes too', async () => {
    const s = [];
    for (let i = 0; i < 4; i++) s.push((await fetch(`${isolates()[i % 3]}/kapis/limited.io/v1/x`)).status);
    expect(s).toEqual([200, 200, 429, 429]);
  });
});

describe('circuit breakers', () => {
  it('5xx failures open the circuit: 503 at once without touching the upstream; after the cooldown one probe closes it', async () => {
    failing = true;
    for (let i = 0; i < 3; i++) expect((await fetch(`${gw.url}/proxy/breaker/x`)).status).toBe(500);
    expect(await until(() => circuitOf('host/reverseProxy/breaker'), (s) => s === 'open')).toBe('open');
    const before = seen.get('/proxy/breaker/x');
    const open = await until(() => fetch(`${gw.url}/proxy/breaker/x`), (r) => r.status === 503);
    expect(open.status).toBe(503);
    expect(((await open.json()) as { ErrStatus: { message: string } }).ErrStatus.message).toContain('circuit is open');
    expect(seen.get('/proxy/breaker/x')).toBe(before);

    failing = false;
    await new Promise((r) => setTimeout(r, 1100));
    expect((await fetch(`${gw.url}/proxy/breaker/x`)).status).toBe(200); // the probe
    expect(await until(() => circuitOf('host/reverseProxy/breaker'), (s) => s === 'closed')).toBe('closed');
    expect((await fetch(`${gw.url}/proxy/breaker/y`)).status).toBe(200);
  });

  it('the state is shared: another isolate stops sending once the circuit is open', async () => {
    failing = true;
    const [, b] = isolates();
    await fetch(`${b}/proxy/shared/warm`); // b now knows the circuit (a failure: 1 of 3)
    for (let i = 0; i < 3; i++) await fetch(`${gw.url}/proxy/shared/x`);
    expect(await until(() => circuitOf('host/reverseProxy/breaker-shared'), (s) => s === 'open')).toBe('open');
    await new Promise((r) => setTimeout(r, 1100)); // b's view is older than its sync interval
    const before = seen.get('/proxy/shared/z') ?? 0;
    // b refreshes its view in the background: the requests it sends meanwhile are few, then it answers 503 itself.
    const refused = await until(() => fetch(`${b}/proxy/shared/z`), (r) => r.status === 503, 3000);
    expect(refused.status).toBe(503);
    expect((seen.get('/proxy/shared/z') ?? 0) - before).toBeLessThanOrEqual(2);
    failing = false;
  });

  it('a refused connection counts as a failure', async () => {
    for (let i = 0; i < 2; i++) expect((await fetch(`${gw.url}/proxy/refused/x`)).status).toBe(502);
    expect(await until(() => circuitOf('host/reverseProxy/refusing'), (s) => s === 'open')).toBe('open');
    const open = await until(() => fetch(`${gw.url}/proxy/refused/x`), (r) => r.status === 503);
    expect(((await open.json()) as { ErrStatus: { message: string } }).ErrStatus.message).toContain('circuit is open');
  });

  it('a timeout counts as a failure', async () => {
    expect((await fetch(`${gw.url}/proxy/hang/x`)).status).toBe(504);
    expect(await until(() => circuitOf('host/reverseProxy/hanging'), (s) => s === 'open')).toBe('open');
    const before = seen.get('/proxy/hang/x');
    expect((await until(() => fetch(`${gw.url}/proxy/hang/x`), (r) => r.status === 503)).status).toBe(503);
    expect(seen.get('/proxy/hang/x')).toBe(before);
  });
});

describe('retries', () => {
  it('an idempotent request is retried after a refused connection, and the answer says how often', async () => {
    dropConnections = 1;
    const res = await fetch(`${gw.url}/proxy/retry/a`, { headers: { Connection: 'close' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ks-edge-retries')).toBe('1');
    expect(seen.get('/proxy/retry/a')).toBe(1);
  });

  it('never a request with a body, never past the retry budget', async () => {
    dropConnections = 1;
    const post = await fetch(`${gw.url}/proxy/retry/b`, { method: 'POST', body: 'once' });
    expect(post.status).toBe(502);
    expect(post.headers.get('x-ks-edge-retries')).toBeNull();
    dropConnections = 3;
    const get = await fetch(`${gw.url}/proxy/retry/c`);
    expect(get.status).toBe(502);
    expect(get.headers.get('x-ks-edge-retries')).toBe('2');
    dropConnections = 0;
    expect(seen.get('/proxy/retry/c')).toBeUndefined();
  });

  it('only after a connection failure: an answer (even a 500) is never retried, nor an idempotent PUT with a body', async () => {
    const err = await fetch(`${gw.url}/proxy/retry/err`);
    expect(err.status).toBe(500);
    expect(err.headers.get('x-ks-edge-retries')).toBeNull();
    expect(seen.get('/proxy/retry/err')).toBe(1);
    dropConnections = 1;
    const put = await fetch(`${gw.url}/proxy/retry/put`, { method: 'PUT', body: 'once' });
    dropConnections = 0;
    expect(put.status).toBe(502);
    expect(put.headers.get('x-ks-edge-retries')).toBeNull();
    expect(seen.get('/proxy/retry/put')).toBeUndefined();
  });
});

describe('redirects', () => {
  it('are answered at the edge with placeholders; nothing is proxied', async () => {
    const res = await fetch(`${gw.url}/proxy/old/a%20b?x=1`, { redirect: 'manual' });
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe('https://new.example.com/proxy/old/a%20b?x=1');
    expect(seen.has('/proxy/old/a%20b')).toBe(false);
  });

  it('a redirect whose host is a placeholder is refused by the exporter', async () => {
    const r = gw.lastExport.resources.find((x) => x.name === 'moved-bad')!;
    expect(r.problems.join()).toContain('ks-edge.io/redirect');
    expect((await fetch(`${gw.url}/proxy/bad/x`, { redirect: 'manual' })).status).toBe(503);
  });
});
