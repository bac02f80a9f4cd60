/**
 * Request tracing on plain workerd: every response carries X-Request-Id (the client's when it is a sane one) and
 * Server-Timing; every request leaves one JSON log line with id, route, cluster, user, decision, status and
 * durations — and never a token, a cookie or a query string.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reverseProxy, startGateway } from '../support/gateway';
import { hs256, JWT_SECRET } from '../support/tokens';
import { startUpstream, type Upstream } from '../support/upstream';
import { serveOnWorkerd, type Served } from '../support/workerd';

let up: Upstream;
let gw: Served;

beforeAll(async () => {
  up = await startUpstream();
  gw = await serveOnWorkerd({
    vars: { JWT_SECRET, AUTH: '', AUTHZ: 'none', REQUEST_LOG: 'all' },
    manifests: reverseProxy('app', { matcher: { path: '/proxy/app/*' }, upstream: { url: up.origin } }),
  });
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
});

interface Line { msg: string; id: string; trace_id: string; method: string; path: string; cluster: string; route: { kind: string; name: string } | null; user: string; decision: string; status: number; edge_ms: number; upstream_ms: number | null }
const lines = (): Line[] => gw.output().split('\n').filter((l) => l.includes('"ks-edge request"')).map((l) => JSON.parse(l.slice(l.indexOf('{'))) as Line);

async function logged(id: string): Promise<Line> {
  for (let i = 0; i < 50; i++) {
    const line = lines().find((l) => l.id === id);
    if (line) return line;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no log line for ${id}: ${gw.output().slice(-2000)}`);
}

describe('tracing', () => {
  it('keeps a sane client request id, sets Server-Timing, and logs one line with what happened', async () => {
    const token = await hs256({ username: 'alice' });
    const res = await fetch(`${gw.url}/proxy/app/x?access_token=s3cr3t`, { headers: { Authorization: `Bearer ${token}`, Cookie: `token=${token}`, 'X-Request-Id': 'trace-me-12345' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('trace-me-12345');
    expect(res.headers.get('server-timing')).toMatch(/^edge;dur=\d+, upstream;dur=\d+$/);
    const line = await logged('trace-me-12345');
    expect(line).toMatchObject({
      method: 'GET', path: '/proxy/app/x', cluster: 'host', route: { kind: 'ReverseProxy', name: 'app' }, user: 'alice',
      decision: 'authenticated (AUTHZ=none)', status: 200,
    });
    expect(line.upstream_ms).toBeGreaterThanOrEqual(0);
    const raw = gw.output();
    expect(raw).not.toContain(token);
    expect(raw).not.toContain('s3cr3t');
  });

  it('replaces a request id that is not a sane one, and traces refusals and gateway answers too', async () => {
    const res = await fetch(`${gw.url}/proxy/app/x`, { headers: { 'X-Request-Id': 'bad id\twith spaces' } });
    expect(res.status).toBe(401);
    const id = res.headers.get('x-request-id')!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('server-timing')).toMatch(/^edge;dur=\d+$/);
    expect(await logged(id)).toMatchObject({ status: 401, user: 'system:anonymous', decision: 'anonymous refused (AUTHZ=none)' });
    const health = await fetch(`${gw.url}/_gateway/healthz`);
    expect(health.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(health.headers.get('x-request-id')).not.toBe(id);
    expect(await logged(health.headers.get('x-request-id')!)).toMatchObject({ route: { kind: 'gateway', name: 'healthz' }, status: 200 });
  });
});

describe('W3C trace context', () => {
  const TP = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
  it('keeps a client\'s traceparent and tracestate, sends them upstream, and logs the trace id', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const res = await fetch(`${gw.url}/proxy/app/t`, { headers: { traceparent, tracestate: 'vendor=x', Authorization: `Bearer ${await hs256({ username: 'alice' })}` } });
    expect(res.status).toBe(200);
    expect(up.seen.at(-1)!.headers).toMatchObject({ traceparent, tracestate: 'vendor=x' });
    expect((await logged(res.headers.get('x-request-id')!)).trace_id).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  });
  it('starts a trace when there is none or it is invalid (its tracestate dropped)', async () => {
    const token = await hs256({ username: 'alice' });
    for (const headers of [{}, { traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01', tracestate: 'stale=1' }, { traceparent: 'junk' }] as Record<string, string>[]) {
      const res = await fetch(`${gw.url}/proxy/app/t`, { headers: { ...headers, Authorization: `Bearer ${token}` } });
      const sent = up.seen.at(-1)!.headers;
      expect(sent.traceparent).toMatch(TP);
      expect(sent.tracestate).toBeUndefined();
      expect((await logged(res.headers.get('x-request-id')!)).trace_id).toBe(String(sent.traceparent).split('-')[1]);
    }
  });
});

describe('REQUEST_LOG=errors, the default', () => {
  let quiet: Served;
  beforeAll(async () => {
    up.routes.set('/slow', (_q, res) => setTimeout(() => res.writeHead(200).end('late'), 300));
    quiet = await serveOnWorkerd({
      vars: { JWT_SECRET, AUTH: '', AUTHZ: 'none', REQUEST_LOG_SAMPLE: '0', REQUEST_LOG_SLOW_MS: '200' },
      manifests: reverseProxy('app', { matcher: { path: '/proxy/app/*' }, upstream: { url: up.origin } })
        + reverseProxy('slow', { matcher: { path: '/slow' }, upstream: { url: up.origin }, directives: { headerUp: ['-Authorization'] } }, { annotations: { 'ks-edge.io/claim-path': 'true' } })
        + reverseProxy('down', { matcher: { path: '/proxy/down' }, upstream: { url: 'http://127.0.0.1:9' } }),
    });
  });
  afterAll(() => quiet?.close());
  const lineFor = async (res: Response, expected: boolean) => {
    const id = res.headers.get('x-request-id')!;
    await fetch(`${quiet.url}/_gateway/nothing`); // a later line, so the one looked for would be out by now
    for (let i = 0; i < 20; i++) {
      if (quiet.output().includes(id)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(quiet.output().includes(id), `${res.status} ${id}`).toBe(expected);
  };
  it('logs errors, refusals and slow requests, not the rest', async () => {
    const token = await hs256({ username: 'alice' });
    await lineFor(await fetch(`${quiet.url}/proxy/app/x`, { headers: { Authorization: `Bearer ${token}` } }), false);
    await lineFor(await fetch(`${quiet.url}/proxy/app/x`), true); // 401
    await lineFor(await fetch(`${quiet.url}/proxy/down`, { headers: { Authorization: `Bearer ${token}` } }), true); // 502
    await lineFor(await fetch(`${quiet.url}/slow`, { headers: { Authorization: `Bearer ${token}` } }), true);
  });
  it('a bad setting fails closed naming the variable', async () => {
    const bad = await startGateway({ vars: { REQUEST_LOG: 'some' }, manifests: '' });
    try {
      const res = await bad.fetch('/_gateway/healthz');
      expect(res.status).toBe(500);
      expect(await res.text()).toContain('REQUEST_LOG must be');
    } finally {
      await bad.close();
    }
  });
});
