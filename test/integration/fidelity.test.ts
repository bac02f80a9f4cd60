/**
 * Proxy fidelity on the production runtime: the production bundle on plain workerd, real Node clients, `ws`,
 * `curl -N`, and real upstreams on 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { apiService, jsBundle, reverseProxy } from '../support/gateway';
import { hs256, JWT_SECRET } from '../support/tokens';
import { freePort, serveOnWorkerd, type Served } from '../support/workerd';

const MiB = 1024 * 1024;
const BIG_BUNDLE = Buffer.from('console.log("a large extension");\n'.repeat(160_000)); // over the 4 MiB isolate cache
let up: Server;
let origin: string;
let gw: Served;
let token: string;
const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
const wsHandshakes: IncomingHttpHeaders[] = [];
let lastWrittenAt = 0;
/** Resolvers by upstream path, called with the time the upstream saw its request end. */
const closedAt = new Map<string, (at: number) => void>();
const upstreamClosed = (path: string) => new Promise<number>((resolve, reject) => {
  closedAt.set(path, resolve);
  setTimeout(() => reject(new Error(`upstream ${path} never saw the request end`)), 8000).unref();
});

beforeAll(async () => {
  up = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    seen.push({ url: req.url!, headers: req.headers });
    switch (url.pathname) {
      case '/upload': {
        let bytes = 0;
        req.on('data', (c: Buffer) => (bytes += c.length));
        req.on('end', () => res.end(JSON.stringify({ bytes })));
        return;
      }
      case '/download': {
        const total = Number(url.searchParams.get('mb')) * MiB;
        const chunk = Buffer.alloc(MiB, 120);
        let sent = 0;
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const pump = () => {
          while (sent < total) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        return pump();
      }
      case '/sse': {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        let n = 0;
        const tick = () => {
          res.write(`id: ${n}\ndata: event ${n} at ${Date.now()}\n\n`);
          if (++n < 3) setTimeout(tick, 300);
          else setTimeout(() => res.end(), 50);
        };
        return tick();
      }
      case '/slow':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first\n');
        setTimeout(() => { lastWrittenAt = Date.now(); res.end('last\n'); }, 1000);
        return;
      case '/hold':
      case '/hold-upload':
        res.on('close', () => closedAt.get(url.pathname)?.(Date.now()));
        req.resume();
        return;
      case '/watch': {
        res.on('close', () => closedAt.get(url.pathname)?.(Date.now()));
        res.writeHead(200, { 'content-type': 'application/json' });
        const beat = setInterval(() => res.write('{"type":"BOOKMARK"}\n'), 100);
        res.on('close', () => clearInterval(beat));
        res.write('{"type":"ADDED"}\n');
        return;
      }
      case '/delay':
      case '/kapis/slow.io/v1/delay':
        setTimeout(() => res.end('late'), 3000).unref();
        return;
      case '/headers':
        res.writeHead(200, [
          ['Set-Cookie', 'a=1; Path=/'], ['Set-Cookie', 'b=2; HttpOnly'], ['Connection', 'X-Resp-Hop'], ['X-Resp-Hop', 'secret'],
          ['Keep-Alive', 'timeout=5'], ['X-Plain', 'kept'], ['Content-Type', 'text/plain'],
        ]);
        res.write('chunk-1;');
        setTimeout(() => res.end('chunk-2'), 20);
        return;
      case '/long-stream': {
        res.writeHead(200, { 'content-type': 'text/plain' });
        let i = 0;
        const tick = setInterval(() => {
          res.write(String(i++));
          if (i === 10) { clearInterval(tick); res.end(); }
        }, 200);
        return;
      }
      case '/redirect':
        res.writeHead(307, { location: '/elsewhere?x=1' });
        return res.end();
      default:
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers }));
    }
  });
  const wss = new WebSocketServer({ server: up });
  wss.on('connection', (socket, req) => {
    wsHandshakes.push(req.headers);
    socket.on('message', (data, isBinary) => socket.send(isBinary ? data : `echo:${data}`, { binary: isBinary }));
  });
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(up.address() as AddressInfo).port}`;
  const deadPort = await freePort();
  gw = await serveOnWorkerd({
    vars: { JWT_SECRET, AUTH: '', AUTHZ: 'none' },
    manifests: [
      apiService('api', { group: 'g.io', version: 'v1', url: origin }),
      apiService('slow-api', { group: 'slow.io', version: 'v1', url: origin }, { annotations: { 'ks-edge.io/timeout': '1s' } }),
      reverseProxy('proxy', { matcher: { path: '/proxy/*' }, upstream: { url: origin }, directives: { stripPathPrefix: '/proxy', headerDown: ['X-Down yes'], authProxy: true } }),
      reverseProxy('timeout', { matcher: { path: '/timeout/*' }, upstream: { url: origin }, directives: { stripPathPrefix: '/timeout' } }, { annotations: { 'ks-edge.io/timeout': '1s', 'ks-edge.io/claim-path': 'true' } }),
      reverseProxy('dead', { matcher: { path: '/dead/*' }, upstream: { url: `http://127.0.0.1:${deadPort}` } }, { annotations: { 'ks-edge.io/claim-path': 'true' } }),
      jsBundle('big', { raw: BIG_BUNDLE.toString('base64') }, { labels: { 'kubesphere.io/extension-ref': 'big' } }),
    ].join(''),
  });
  token = await hs256({ username: 'alice' });
});

afterAll(async () => {
  await gw?.close();
  up?.closeAllConnections();
  await new Promise((r) => up?.close(r));
});

const auth = () => ({ Authorization: `Bearer ${token}` });

/** Samples workerd's RSS while `work` runs; returns the peak growth over the starting value. */
async function peakGrowth(work: () => Promise<void>): Promise<number> {
  const start = await gw.rss();
  let peak = start;
  const timer = setInterval(() => void gw.rss().then((r) => (peak = Math.max(peak, r))), 20);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return peak - start;
}

describe('streaming bodies', () => {
  it('a 100 MiB upload streams through with flat memory', async () => {
    let result = '';
    const growth = await peakGrowth(() => new Promise<void>((resolve, reject) => {
      const req = request(`${gw.url}/proxy/upload`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/octet-stream' } }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (d) => (result += d));
        res.on('end', resolve);
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(256 * 1024, 97);
      let sent = 0;
      const pump = () => {
        while (sent < 100 * MiB) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    }));
    expect(JSON.parse(result)).toEqual({ bytes: 100 * MiB });
    expect(growth).toBeLessThan(48 * MiB);
  }, 60_000);

  it('a 100 MiB download streams through with flat memory', async () => {
    let bytes = 0;
    const growth = await peakGrowth(async () => {
      const res = await fetch(`${gw.url}/proxy/download?mb=100`, { headers: auth() });
      for await (const chunk of res.body!) bytes += (chunk as Uint8Array).byteLength;
    });
    expect(bytes).toBe(100 * MiB);
    expect(growth).toBeLessThan(48 * MiB);
  }, 60_000);

  it('server-sent events arrive one by one (curl -N)', async () => {
    const arrivals: number[] = [];
    await new Promise<void>((resolve, reject) => {
      const curl = spawn('curl', ['-sN', '-H', `Authorization: Bearer ${token}`, '-H', 'Accept-Encoding: gzip', `${gw.url}/proxy/sse`]);
      let buf = '';
      curl.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          arrivals.push(Date.now());
          buf = buf.slice(i + 2);
        }
      });
      curl.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`curl exited ${code}`))));
    });
    expect(arrivals).toHaveLength(3);
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThan(200);
    expect(arrivals[2]! - arrivals[1]!).toBeGreaterThan(200);
  });

  it("a slow upstream's first bytes reach the client before its last are written", async () => {
    const res = await fetch(`${gw.url}/proxy/slow`, { headers: auth() });
    const reader = res.body!.getReader();
    const first = await reader.read();
    const firstAt = Date.now();
    expect(new TextDecoder().decode(first.value)).toBe('first\n');
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
    expect(rest).toBe('last\n');
    expect(firstAt).toBeLessThan(lastWrittenAt);
  });
});

describe('bundles', () => {
  it('a bundle streamed from KV keeps the Content-Length that HEAD announces', async () => {
    const head = await fetch(`${gw.url}/dist/big/index.js`, { method: 'HEAD' });
    const res = await fetch(`${gw.url}/dist/big/index.js`);
    expect(res.headers.get('content-length')).toBe(String(BIG_BUNDLE.length));
    expect(head.headers.get('content-length')).toBe(String(BIG_BUNDLE.length));
    expect(Buffer.from(await res.arrayBuffer()).equals(BIG_BUNDLE)).toBe(true);
  });
});

describe('WebSocket', () => {
  const roundTrip = (path: string, headers: Record<string, string>) => new Promise<{ text: string; binary: Buffer }>((resolve, reject) => {
    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}${path}`, { headers: { ...headers, 'X-Remote-User': 'forged', 'X-Remote-Extra-Scopes': 'cluster-admin', 'X_Remote_Group': 'system:masters' } });
    const got: (string | Buffer)[] = [];
    ws.on('open', () => { ws.send('hello'); ws.send(Buffer.from([1, 2, 3]), { binary: true }); });
    ws.on('message', (data, isBinary) => {
      got.push(isBinary ? (data as Buffer) : data.toString());
      if (got.length === 2) { ws.close(); resolve({ text: got[0] as string, binary: got[1] as Buffer }); }
    });
    ws.on('error', reject);
  });

  it('through an APIService, with identity headers on the upgrade', async () => {
    const r = await roundTrip('/kapis/g.io/v1/watch', auth());
    expect(r.text).toBe('echo:hello');
    expect([...r.binary]).toEqual([1, 2, 3]);
    const hs = wsHandshakes.at(-1)!;
    expect(hs['x-remote-user']).toBe('alice');
    expect(hs['x-remote-group']).toBe('system:authenticated');
    // Forged identity headers are removed from an upgrade like from any request, under any spelling.
    expect(hs['x-remote-extra-scopes']).toBeUndefined();
    expect(hs['x_remote_group']).toBeUndefined();
  });

  it('through a ReverseProxy with headerDown and authProxy', async () => {
    const r = await roundTrip('/proxy/socket', auth());
    expect(r.text).toBe('echo:hello');
    expect(wsHandshakes.at(-1)!['x-remote-user']).toBe('alice');
  });

  it('refuses an anonymous upgrade like any request', async () => {
    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/kapis/g.io/v1/watch`);
    const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode!)));
    expect(status).toBe(401);
  });
});

describe('headers and methods', () => {
  it('removes hop-by-hop headers both ways, including those named in Connection', async () => {
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(`${gw.url}/proxy/echo`, {
        headers: { ...auth(), Connection: 'keep-alive, X-Custom-Hop', 'X-Custom-Hop': '1', 'Keep-Alive': 'timeout=9', TE: 'trailers', 'Proxy-Authorization': 'Basic eA==', 'X-End-To-End': 'yes' },
      }, (res) => { let b = ''; res.on('data', (d) => (b += d)); res.on('end', () => resolve(b)); });
      req.on('error', reject);
      req.end();
    });
    const h = (JSON.parse(body) as { headers: IncomingHttpHeaders }).headers;
    expect(h['x-custom-hop']).toBeUndefined();
    expect(h['keep-alive']).toBeUndefined();
    expect(h.te).toBeUndefined();
    expect(h['proxy-authorization']).toBeUndefined();
    expect(h['x-end-to-end']).toBe('yes');

    const res = await fetch(`${gw.url}/proxy/headers`, { headers: auth() });
    expect(res.headers.get('x-resp-hop')).toBeNull();
    expect(res.headers.get('keep-alive')).toBeNull();
    expect(res.headers.get('x-plain')).toBe('kept');
    expect((res.headers as unknown as { getSetCookie(): string[] }).getSetCookie()).toEqual(['a=1; Path=/', 'b=2; HttpOnly']);
    expect(res.headers.get('x-down')).toBe('yes');
    expect(await res.text()).toBe('chunk-1;chunk-2');
  });

  it('sets X-Forwarded-For from the client address (CF-Connecting-IP), never the client value', async () => {
    const res = await fetch(`${gw.url}/kapis/g.io/v1/x`, { headers: { ...auth(), 'CF-Connecting-IP': '198.51.100.7', 'X-Forwarded-For': '6.6.6.6', 'X-Forwarded-Host': 'evil', 'Host': 'edge.example.com' } });
    const h = ((await res.json()) as { headers: IncomingHttpHeaders }).headers;
    expect(h['x-forwarded-for']).toBe('198.51.100.7');
    expect(h['x-forwarded-host']).toBe(`127.0.0.1:${gw.port}`);
    expect(h['x-forwarded-proto']).toBe('http');
  });

  it('passes redirects, HEAD and OPTIONS through', async () => {
    const redirect = await fetch(`${gw.url}/proxy/redirect`, { headers: auth(), redirect: 'manual' });
    expect(redirect.status).toBe(307);
    expect(redirect.headers.get('location')).toBe('/elsewhere?x=1');
    const head = await fetch(`${gw.url}/proxy/echo`, { method: 'HEAD', headers: auth() });
    expect(head.status).toBe(200);
    expect(seen.at(-1)!.url).toBe('/echo');
    const options = await fetch(`${gw.url}/proxy/echo`, { method: 'OPTIONS', headers: auth() });
    expect(((await options.json()) as { method: string }).method).toBe('OPTIONS');
  });

  it('preserves percent-encoding; dot segments cannot widen the match', async () => {
    await fetch(`${gw.url}/proxy/a%20b/%E2%9C%93/c%2Fd?q=%2F%20`, { headers: auth() });
    expect(seen.at(-1)!.url).toBe('/a%20b/%E2%9C%93/c%2Fd?q=%2F%20');
    const escape = await fetch(`${gw.url}/proxy/x/..%2F..%2Fkapis/g.io/v1/x`, { headers: auth() });
    expect(escape.status).toBe(400);
  });
});

describe('time limits', () => {
  it('a refused connection is 502 with an ErrStatus body', async () => {
    const res = await fetch(`${gw.url}/dead/x`, { headers: auth() });
    expect(res.status).toBe(502);
    expect(((await res.json()) as { ErrStatus: { reason: string; message: string } }).ErrStatus).toMatchObject({ reason: 'BadGateway' });
  });

  it('ks-edge.io/timeout applies to APIService routes too', async () => {
    const started = Date.now();
    const res = await fetch(`${gw.url}/kapis/slow.io/v1/delay`, { headers: auth() });
    expect(res.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('no response headers within the route timeout is 504', async () => {
    const started = Date.now();
    const res = await fetch(`${gw.url}/timeout/delay`, { headers: auth() });
    expect(res.status).toBe(504);
    expect(((await res.json()) as { ErrStatus: { reason: string; code: number } }).ErrStatus).toMatchObject({ reason: 'Timeout', code: 504 });
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('a client that leaves a streaming response (a watch) cancels the upstream request', async () => {
    const closed = upstreamClosed('/watch');
    const abort = new AbortController();
    const res = await fetch(`${gw.url}/proxy/watch`, { headers: auth(), signal: abort.signal });
    const reader = res.body!.getReader();
    await reader.read();
    const leftAt = Date.now();
    abort.abort();
    expect((await closed) - leftAt).toBeLessThan(2000);
  });

  it('a client that drops an upload half-way cancels the upstream request', async () => {
    const closed = upstreamClosed('/hold-upload');
    const req = request(`${gw.url}/proxy/hold-upload`, { method: 'PUT', headers: { ...auth(), 'content-length': String(10 * MiB) } });
    req.on('error', () => {});
    req.write(Buffer.alloc(MiB));
    await new Promise((r) => setTimeout(r, 200));
    const leftAt = Date.now();
    req.destroy();
    expect((await closed) - leftAt).toBeLessThan(2000);
  });

  it('the timeout covers waiting for headers only: a stream longer than it survives', async () => {
    const res = await fetch(`${gw.url}/timeout/long-stream`, { headers: auth() });
    expect(res.status).toBe(200);
    const started = Date.now();
    const text = await res.text();
    expect(Date.now() - started).toBeGreaterThan(1500); // longer than the route's 1 s timeout
    expect(text).toBe('0123456789');
  });

  it('the route timeout also aborts the upstream request', async () => {
    const closed = upstreamClosed('/hold');
    const res = await fetch(`${gw.url}/timeout/hold`, { headers: auth() });
    expect(res.status).toBe(504);
    const answeredAt = Date.now();
    expect((await closed) - answeredAt).toBeLessThan(2000);
  });
});
