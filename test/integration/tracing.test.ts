/**
 * Request tracing on plain workerd: every response carries X-Request-Id (the client's when it is a sane one) and
 * Server-Timing; every request leaves one JSON log line with id, route, cluster, user, decision, status and
 * durations — and never a token, a cookie or a query string.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reverseProxy } from '../support/gateway';
import { hs256, JWT_SECRET } from '../support/tokens';
import { startUpstream, type Upstream } from '../support/upstream';
import { serveOnWorkerd, type Served } from '../support/workerd';

let up: Upstream;
let gw: Served;

beforeAll(async () => {
  up = await startUpstream();
  gw = await serveOnWorkerd({
    vars: { JWT_SECRET, AUTH: '', AUTHZ: 'none' },
    manifests: reverseProxy('app', { matcher: { path: '/proxy/app/*' }, upstream: { url: up.origin } }),
  });
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
});

interface Line { msg: string; id: string; method: string; path: string; cluster: string; route: { kind: string; name: string } | null; user: string; decision: string; status: number; edge_ms: number; upstream_ms: number | null }
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
