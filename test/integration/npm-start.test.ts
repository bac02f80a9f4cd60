/**
 * What a newcomer does: `npm start` (wrangler dev), then a request to a route of each kind, with the example
 * extensions; and the same for `npm run serve` (the production bundle on plain workerd), same environment contract.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hs256, JWT_SECRET } from '../support/tokens';

for (const command of ['start', 'run serve'] as const) describe(`npm ${command}`, () => {
let child: ChildProcess;
let base: string;
let persist: string;
let output = '';

const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const port = (s.address() as { port: number }).port;
    s.close(() => resolve(port));
  });
});

beforeAll(async () => {
  const port = await freePort();
  persist = await mkdtemp(join(tmpdir(), 'ks-edge-start-'));
  base = `http://127.0.0.1:${port}`;
  child = spawn('npm', command.split(' '), {
    // The bundle the global set-up built, so `serve` does not build it again.
    env: { ...process.env, PORT: String(port), JWT_SECRET, KS_EDGE_PERSIST_TO: persist, KS_EDGE_SERVE_DIR: persist, KS_EDGE_BUNDLE: 'dist/index.js' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const until = Date.now() + 90_000;
  while (Date.now() < until) {
    try {
      if ((await fetch(`${base}/_gateway/healthz`)).status === 200) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`npm ${command} did not come up:\n${output}`);
}, 120_000);

afterAll(async () => {
  if (child?.pid) process.kill(-child.pid, 'SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  await rm(persist, { recursive: true, force: true });
});

describe('the examples', () => {
  it('exports the examples and reports no problems', () => {
    expect(output).toMatch(/summary: 7 resources \(1 APIService, 4 JSBundle, 2 ReverseProxy\), 0 with problems/);
  });

  it('serves a JSBundle of each source', async () => {
    for (const [link, text] of [
      ['/dist/demo-raw/index.js', 'spec.raw'], ['/dist/demo-configmap/index.js', 'ConfigMap'],
      ['/dist/demo-secret/index.js', 'Secret'], ['/dist/demo-frontend/index.js', 'its Service'],
    ]) {
      const res = await fetch(base + link!);
      expect(res.status, link).toBe(200);
      expect(await res.text()).toContain(text);
    }
  });

  it('proxies the APIService to the demo upstream with the authenticated user', async () => {
    const token = await hs256({ username: 'admin' });
    const res = await fetch(`${base}/kapis/demo.kubesphere.io/v1alpha1/things`, { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const echo = (await res.json()) as { path: string; headers: Record<string, string> };
    expect(echo.path).toBe('/kapis/demo.kubesphere.io/v1alpha1/things');
    expect(echo.headers['x-remote-user']).toBe('admin');
    expect((await fetch(`${base}/kapis/demo.kubesphere.io/v1alpha1/things`)).status).toBe(401);
  });

  it('proxies the ReverseProxy routes with their directives', async () => {
    const token = await hs256({ username: 'admin' });
    const res = await fetch(`${base}/proxy/demo.kubesphere.io/img/logo.png`, { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-served-by')).toBe('ks-edge demo');
    const echo = (await res.json()) as { path: string; headers: Record<string, string> };
    expect(echo.path).toBe('/img/logo.png');
    expect(echo.headers.authorization).toBeUndefined();
    expect(echo.headers['x-extension']).toBe('demo');
    const pub = (await (await fetch(`${base}/proxy/demo-public/status`)).json()) as { path: string; query: string };
    expect(pub).toMatchObject({ path: '/healthz', query: 'source=edge' });
  });
});
});
