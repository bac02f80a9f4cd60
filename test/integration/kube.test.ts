/**
 * The exporter against a real Kubernetes API server (kts, or KS_EDGE_TEST_KUBECONFIG): CRDs and KubeSphere-style
 * manifests applied with the client, then list with paging, watch (add, change, delete reach KV), 410 relist,
 * missing ConfigMap, 429 retries and RBAC-denied reads.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoUpstream } from '../../scripts/demo-upstream';
import { readPointer, readSnapshot } from '../../scripts/exporter/publish';
import { runExport } from '../../scripts/exporter/run';
import { EXTENSION_PLURALS, kubeSource, listKind } from '../../scripts/exporter/sources/kube';
import { filesTarget } from '../../scripts/exporter/targets/files';
import { watchAndExport } from '../../scripts/exporter/watch';
import type { Snapshot } from '../../worker/model/snapshot';
import { apply, kubesphereCrds, remove, startKube, type Kube } from '../support/kube';

let kube: Kube;
let demo: Awaited<ReturnType<typeof startDemoUpstream>>;
let dir: string;

const examples = () => readdirSync('config/examples').map((f) => readFileSync(join('config/examples', f), 'utf8')).join('\n---\n');
const rp = (name: string, path: string, extra: Record<string, unknown> = {}) => JSON.stringify({
  apiVersion: 'extensions.kubesphere.io/v1alpha1', kind: 'ReverseProxy', metadata: { name, ...extra },
  spec: { matcher: { path, method: 'GET' }, upstream: { url: 'https://example.com' } }, status: { state: 'Available' },
});

beforeAll(async () => {
  kube = await startKube();
  demo = await startDemoUpstream();
  dir = await mkdtemp(join(tmpdir(), 'ks-edge-kube-kv-'));
  // Right after the CRDs are Established the server may answer 429 for a moment; apply() retries like the exporter.
  await apply(kube.kc, kubesphereCrds());
  await apply(kube.kc, examples());
}, 300_000);

afterAll(async () => {
  await kube?.stop();
  await demo?.close();
  await rm(dir, { recursive: true, force: true });
});

const exportTo = (target = filesTarget(join(dir, 'kv'))) =>
  runExport({ source: kubeSource(kube.kc), target, cluster: 'host', clusterOrigin: `http://127.0.0.1:${demo.port}` });

async function current(kvDir = join(dir, 'kv')): Promise<Snapshot | undefined> {
  const t = filesTarget(kvDir);
  const p = await readPointer(t);
  return p && readSnapshot(t, p.snapshot);
}

describe('export from the API server', () => {
  it('exports the KubeSphere-style examples with every bundle source', async () => {
    const s = await exportTo();
    const ext = s.resources.filter((r) => ['v1alpha1.demo.kubesphere.io', 'demo-resources.kubesphere.io'].includes(r.name) || r.kind === 'JSBundle');
    expect(ext.map((r) => r.problems).flat()).toEqual([]);
    const snap = (await current())!;
    expect(snap.bundles.map((b) => b.link).sort()).toEqual([
      '/dist/demo-configmap/index.js', '/dist/demo-frontend/index.css', '/dist/demo-frontend/index.js', '/dist/demo-frontend/logo.svg',
      '/dist/demo-raw/index.js', '/dist/demo-secret/index.js',
    ]);
    expect(snap.bundles.every((b) => b.hash && !b.error)).toBe(true);
    expect(snap.apiServices.map((a) => `${a.group}/${a.version}`)).toContain('demo.kubesphere.io/v1alpha1');
  });

  it('unknown spec fields are pruned by the server; ks-edge annotations survive', async () => {
    await apply(kube.kc, JSON.stringify({
      apiVersion: 'extensions.kubesphere.io/v1alpha1', kind: 'ReverseProxy',
      metadata: { name: 'pruned', annotations: { 'ks-edge.io/allow-anonymous': 'true' } },
      spec: { matcher: { path: '/proxy/pruned', method: 'GET' }, upstream: { url: 'https://example.com' }, rateLimit: 5 }, status: { state: 'Available' },
    }));
    const s = await exportTo();
    const report = s.resources.find((r) => r.name === 'pruned')!;
    expect(report).toMatchObject({ state: 'Available', warnings: [], problems: [] });
    const route = (await current())!.reverseProxies.find((r) => r.name === 'pruned')!;
    expect(route.policy.allowAnonymous).toBe(true);
    expect(route.available).toBe(true);
  });

  it('lists with paging', async () => {
    await apply(kube.kc, Array.from({ length: 23 }, (_, i) => rp(`page-${i}`, `/proxy/page/${i}`)).join('\n---\n'));
    const custom = kube.kc.makeApiClient(k8s.CustomObjectsApi);
    let calls = 0;
    const counting = new Proxy(custom, {
      get: (t, prop) => (prop === 'listClusterCustomObject' ? (...a: unknown[]) => { calls++; return (t.listClusterCustomObject as (...x: unknown[]) => unknown).apply(t, a); } : Reflect.get(t, prop)),
    });
    const list = await listKind(kube.kc, EXTENSION_PLURALS.find((k) => k.kind === 'ReverseProxy')!, 5, counting);
    expect(list.items.filter((i) => String((i.metadata as { name: string }).name).startsWith('page-'))).toHaveLength(23);
    expect(calls).toBe(Math.ceil(list.items.length / 5));
    expect(list.items.every((i) => i.kind === 'ReverseProxy' && i.apiVersion === 'extensions.kubesphere.io/v1alpha1')).toBe(true);
  });

  it('reports a JSBundle whose ConfigMap is missing, by kind, name and reason', async () => {
    await apply(kube.kc, JSON.stringify({
      apiVersion: 'extensions.kubesphere.io/v1alpha1', kind: 'JSBundle', metadata: { name: 'missing-cm' },
      spec: { rawFrom: { configMapKeyRef: { name: 'nope', key: 'index.js', namespace: 'extension-demo' } } }, status: { state: 'Available' },
    }));
    const s = await exportTo();
    const report = s.resources.find((r) => r.name === 'missing-cm')!;
    expect(report).toMatchObject({ kind: 'JSBundle', state: 'Available', problems: ['/dist/missing-cm/index.js: ConfigMap extension-demo/nope not found'] });
  });

  it('an RBAC-denied read fails the run clearly and changes nothing', async () => {
    await exportTo();
    const before = await readPointer(filesTarget(join(dir, 'kv')));
    const run = spawnSync('npx', ['tsx', 'scripts/export.ts', '--from', 'kube', '--kubeconfig', kube.restrictedKubeconfig, '--to', `files:${join(dir, 'kv')}`], { encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/export failed, nothing changed: list apiservices\.extensions\.kubesphere\.io: 403 Forbidden — the exporter's service account lacks this permission/);
    expect(await readPointer(filesTarget(join(dir, 'kv')))).toEqual(before);
  });
});

describe('--watch', () => {
  it('add, change and delete reach KV; a 410 relists', async () => {
    const kvDir = join(dir, 'watch-kv');
    const target = filesTarget(kvDir);
    const stop = new AbortController();
    const log: string[] = [];
    let exports = 0;
    const watching = watchAndExport({
      kc: kube.kc, signal: stop.signal, debounceMs: 200, log: (l) => log.push(l), resumeFrom: '1',
      exportOnce: async () => {
        exports++;
        await runExport({ source: kubeSource(kube.kc), target, cluster: 'host', clusterOrigin: `http://127.0.0.1:${demo.port}` });
      },
    });
    const until = async (ok: (s: Snapshot | undefined) => boolean) => {
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const s = await current(kvDir);
        if (ok(s)) return s;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`timed out; log: ${log.join(' | ')}`);
    };
    try {
      await until((s) => Boolean(s));
      expect(log.some((l) => l.includes('expired (410), relisting'))).toBe(true);

      await apply(kube.kc, rp('watched', '/proxy/watched/a'));
      await until((s) => s?.reverseProxies.some((r) => r.name === 'watched' && r.matchers[0]!.path === '/proxy/watched/a') ?? false);
      await apply(kube.kc, rp('watched', '/proxy/watched/b'));
      await until((s) => s?.reverseProxies.some((r) => r.name === 'watched' && r.matchers[0]!.path === '/proxy/watched/b') ?? false);
      const beforeDelete = exports;
      await remove(kube.kc, 'ReverseProxy', 'watched');
      await until((s) => !(s?.reverseProxies.some((r) => r.name === 'watched') ?? true));
      expect(exports).toBeGreaterThan(beforeDelete);

      // A burst of changes within the debounce window becomes one export (two at most, if it straddles one).
      await new Promise((r) => setTimeout(r, 400));
      const beforeBurst = exports;
      await apply(kube.kc, Array.from({ length: 8 }, (_, i) => rp(`burst-${i}`, `/proxy/burst/${i}`)).join('\n---\n'));
      await until((s) => (s?.reverseProxies.filter((r) => r.name.startsWith('burst-')).length ?? 0) === 8);
      await new Promise((r) => setTimeout(r, 400));
      expect(exports - beforeBurst).toBeLessThanOrEqual(2);
    } finally {
      stop.abort();
      await watching;
    }
  }, 60_000);
});

const fakeApi = async (handler: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void) => {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x',
  });
  return { server, kc };
};

describe('retries', () => {
  let server: Server;
  afterAll(() => new Promise((r) => server?.close(r)));

  it('a watch that fails with any error is restarted', async () => {
    const watches: number[] = [];
    const fake = await fakeApi((req, res) => {
      const url = new URL(req.url!, 'http://x');
      const plural = url.pathname.split('/').pop()!;
      if (url.searchParams.get('watch') !== 'true') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ kind: 'List', metadata: { resourceVersion: '5' }, items: [] }));
      }
      if (plural !== 'reverseproxies') return; // the other kinds' watches just hang
      watches.push(Date.now());
      if (watches.length === 1) {
        res.writeHead(500, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ kind: 'Status', status: 'Failure', message: 'etcd leader changed', code: 500 }));
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(JSON.stringify({ type: 'ADDED', object: { apiVersion: 'extensions.kubesphere.io/v1alpha1', kind: 'ReverseProxy', metadata: { name: 'x', resourceVersion: '6' } } }) + '\n');
    });
    server = fake.server;
    const stop = new AbortController();
    const log: string[] = [];
    let exports = 0;
    const watching = watchAndExport({ kc: fake.kc, signal: stop.signal, debounceMs: 50, log: (l) => log.push(l), exportOnce: async () => { exports++; } });
    const until = Date.now() + 10_000;
    while (watches.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    stop.abort();
    server.closeAllConnections();
    await watching;
    await new Promise((r) => server.close(r));
    expect(watches.length).toBeGreaterThanOrEqual(2);
    expect(log.some((l) => l.startsWith('watch reverseproxies:') && l.includes('restarting in'))).toBe(true);
    expect(exports).toBeGreaterThanOrEqual(2); // after the initial lists, and after the event on the restarted watch
  });

  it('retries 429 with Retry-After, as at CRD start-up', async () => {
    let requests = 0;
    const fake = await fakeApi((_req, res) => {
      requests++;
      if (requests <= 2) {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
        res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'storage is (re)initializing', reason: 'TooManyRequests', code: 429 }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ apiVersion: 'extensions.kubesphere.io/v1alpha1', kind: 'ReverseProxyList', metadata: { resourceVersion: '7' }, items: [] }));
    });
    server = fake.server;
    const kc = fake.kc;
    const started = Date.now();
    const list = await listKind(kc, EXTENSION_PLURALS.find((k) => k.kind === 'ReverseProxy')!);
    expect(list).toEqual({ items: [], resourceVersion: '7' });
    expect(requests).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
  });
});
