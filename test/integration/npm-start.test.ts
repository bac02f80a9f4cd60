/**
 * What a newcomer does: `npm start` (wrangler dev), then a request to a route of each kind, with the example
 * extensions; and the same for `npm run serve` (the production bundle on plain workerd), same environment contract.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hs256, JWT_SECRET } from '../support/tokens';
import { launch, type Launched } from '../support/launch';
import { standingUserinfo } from '../support/ks-core';
import { startUpstream, type Upstream } from '../support/upstream';

for (const command of ['start', 'run serve'] as const) describe(`npm ${command}`, () => {
  let run: Launched;
  let base: string;
  let persist: string;

  beforeAll(async () => {
    persist = await mkdtemp(join(tmpdir(), 'ks-edge-start-'));
    // The bundle the global set-up built, so `serve` does not build it again.
    run = await launch(command.split(' '), { JWT_SECRET, KS_EDGE_PERSIST_TO: persist, KS_EDGE_SERVE_DIR: persist, KS_EDGE_BUNDLE: 'dist/index.js' });
    base = run.base;
  }, 120_000);

  afterAll(async () => {
    await run?.stop();
    await rm(persist, { recursive: true, force: true });
  });

  describe('the examples', () => {
    it('exports the examples and reports no problems', () => {
      expect(run.output()).toMatch(/summary: 7 resources \(1 APIService, 4 JSBundle, 2 ReverseProxy\), 0 with problems/);
    });

    it('ends its output with a URL to try for each kind of route, and how to mint a token', async () => {
      for (let i = 0; i < 40 && !run.output().includes('Tokens:'); i++) await new Promise((r) => setTimeout(r, 250));
      const tail = run.output().slice(run.output().indexOf('ks-edge is ready on'));
      for (const kind of ['bundle', 'API', 'proxy', 'status']) expect(tail).toMatch(new RegExp(`^  ${kind}\\s`, 'm'));
      expect(tail).toContain(`${base}/_gateway/`);
      expect(tail).toContain('npm run -s token -- demo');
      // No CORE_ORIGIN locally: start-up says token review is off, and why.
      expect(tail).toContain('Token review is off (no CORE_ORIGIN');
      expect((await fetch(tail.match(/curl -i (http\S+\/dist\/\S+)/)![1]!)).status).toBe(200);
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
      // KubeSphere's authorization decides: anonymous callers are refused like anyone without a role.
      expect((await fetch(`${base}/kapis/demo.kubesphere.io/v1alpha1/things`)).status).toBe(403);
    });

    it('authorizes with the example roles: demo may read, guest may not, an unknown user is not authenticated', async () => {
      const as = async (user: string, path: string, method = 'GET') =>
        (await fetch(base + path, { method, headers: { Authorization: `Bearer ${await hs256({ username: user })}` } })).status;
      expect(await as('demo', '/kapis/demo.kubesphere.io/v1alpha1/things')).toBe(200);
      expect(await as('demo', '/proxy/demo.kubesphere.io/img/logo.png')).toBe(200);
      expect(await as('demo', '/kapis/demo.kubesphere.io/v1alpha1/things', 'POST')).toBe(403);
      expect(await as('demo', '/proxy/demo.kubesphere.io/img/logo.png', 'DELETE')).toBe(403);
      expect(await as('guest', '/kapis/demo.kubesphere.io/v1alpha1/things')).toBe(403);
      expect(await as('nobody', '/kapis/demo.kubesphere.io/v1alpha1/things')).toBe(401);
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

describe('npm start with every variable of the contract', () => {
  let run: Launched;
  let dir: string;
  let base: string;
  let core: Upstream;
  let extension: Upstream;

  beforeAll(async () => {
    core = await startUpstream();
    core.routes.set('/oauth/userinfo', standingUserinfo);
    extension = await startUpstream();
    dir = await mkdtemp(join(tmpdir(), 'ks-edge-contract-'));
    await writeFile(join(dir, 'rp.yaml'), JSON.stringify({
      apiVersion: 'extensions.kubesphere.io/v1alpha1', kind: 'ReverseProxy', metadata: { name: 'mine' }, status: { state: 'Available' },
      spec: { matcher: { path: '/proxy/mine/*', method: 'GET' }, upstream: { service: { namespace: 'x', name: 'mine', port: 8443 } }, directives: { authProxy: true } },
    }));
    run = await launch(['start'], {
      EXTENSIONS_DIR: dir, JWT_SECRET, AUTHZ: 'none', KS_EDGE_PERSIST_TO: join(dir, 'state'),
      CLUSTER_ORIGIN: `http://127.0.0.1:${extension.port}/{namespace}/{name}/{port}`, CORE_ORIGIN: core.origin,
    });
    base = run.base;
  }, 120_000);

  afterAll(async () => {
    await run?.stop();
    await core?.close();
    await extension?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('exports EXTENSIONS_DIR, maps through CLUSTER_ORIGIN, verifies with JWT_SECRET, takes AUTHZ, and passes the rest to CORE_ORIGIN', async () => {
    expect(run.output()).not.toContain('demo upstream'); // no demo upstream for a folder of one's own
    const token = await hs256({ username: 'carol' });
    const res = await fetch(`${base}/proxy/mine/a?b=1`, { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(extension.seen.at(-1)).toMatchObject({ url: '/x/mine/8443/proxy/mine/a?b=1' });
    expect(extension.seen.at(-1)!.headers['x-remote-user']).toBe('carol');
    expect((await fetch(`${base}/proxy/mine/a`, { headers: { Authorization: 'Bearer not-a-jwt' } })).status).toBe(401);
    expect((await fetch(`${base}/console/login`)).status).toBe(200);
    expect(core.seen.at(-1)!.url).toBe('/console/login');
  });
});

describe('npm run serve with a fleet (CLUSTERS)', () => {
  let run: Launched;
  let dir: string;
  let extension: Upstream;

  beforeAll(async () => {
    extension = await startUpstream();
    dir = await mkdtemp(join(tmpdir(), 'ks-edge-fleet-'));
    const rp = (name: string) => JSON.stringify({
      apiVersion: 'extensions.kubesphere.io/v1alpha1', kind: 'ReverseProxy', metadata: { name }, status: { state: 'Available' },
      spec: { matcher: { path: '/proxy/app/*', method: 'GET' }, upstream: { service: { namespace: 'ext', name, port: 80 } } },
    });
    for (const c of ['host', 'member1']) {
      await mkdir(join(dir, c));
      await writeFile(join(dir, c, 'rp.yaml'), rp(`app-of-${c}`));
    }
    run = await launch(['run', 'serve'], {
      EXTENSIONS_DIR: join(dir, 'host'), CLUSTERS: `member1=${join(dir, 'member1')}`, AUTH: 'none',
      CLUSTER_ORIGIN: `${extension.origin}/{cluster}/{name}`, KS_EDGE_SERVE_DIR: join(dir, 'state'), KS_EDGE_BUNDLE: 'dist/index.js',
    });
  }, 120_000);

  afterAll(async () => {
    await run?.stop();
    await extension?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('exports each folder as its cluster and serves them all, mapping {cluster} in CLUSTER_ORIGIN', async () => {
    expect(run.output()).toContain('as cluster member1');
    expect((await fetch(`${run.base}/clusters/member1/proxy/app/x`)).status).toBe(200);
    expect(extension.seen.at(-1)!.url).toBe('/member1/app-of-member1/proxy/app/x');
    expect((await fetch(`${run.base}/proxy/app/x`)).status).toBe(200);
    expect(extension.seen.at(-1)!.url).toBe('/host/app-of-host/proxy/app/x');
    const status = (await (await fetch(`${run.base}/_gateway/status`)).json()) as { clusters: { name: string }[] };
    expect(status.clusters.map((c) => c.name)).toEqual(['host', 'member1']);
  });
});
