/**
 * `npm run bench:cache` (also part of `npm run bench`): the edge cache (`ks-edge.io/cache`) on workerd with
 * Miniflare's Cache API (plain workerd has no cache service), in front of a 4 KiB "image" from a local upstream.
 *
 * - requests per second and p50 (wrk) for the same `/res/…` image on a cached route and on the same route
 *   uncached, in one run, rounds interleaved: once with the upstream on loopback, once with an upstream 50 ms
 *   away (a Tunnel to a cluster across an ocean, which is what the cache is for);
 * - the cost of a miss (lookup plus store) against no cache: sequential first requests for distinct URLs on the
 *   two routes, medians.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { runExport } from '../exporter/run';
import { directorySource } from '../exporter/sources/directory';
import { kvNamespaceTarget } from '../exporter/targets/local';
import { buildBundle } from '../serve/bundle';
import { compatibility } from '../serve/workerd-config';
import { wrk } from './wrk';

export interface CacheBench {
  cached_rps: number; uncached_rps: number; cached_p50_ms: number; uncached_p50_ms: number;
  far_cached_rps: number; far_uncached_rps: number; far_cached_p50_ms: number; far_uncached_p50_ms: number;
  miss_ms: number; no_cache_ms: number; miss_cost_ms: number; upstream_requests_cached: number;
}

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const MISSES = 300;
const FAR_MS = 50;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function edgeCacheBench(log: (l: string) => void = console.log): Promise<CacheBench> {
  const dir = await mkdtemp(join(tmpdir(), 'ks-edge-cache-bench-'));
  const image = Buffer.alloc(4096, 7);
  const upstreamHits = new Map<string, number>();
  const up = createServer((req, res) => {
    const route = (req.url ?? '').split('/')[2] ?? '';
    upstreamHits.set(route, (upstreamHits.get(route) ?? 0) + 1);
    const answer = () => res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'public, max-age=3600', etag: '"img"' }).end(image);
    if (route.startsWith('far-')) setTimeout(answer, FAR_MS);
    else answer();
  });
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(up.address() as AddressInfo).port}`;
  let mf: Miniflare | undefined;
  try {
    const bundle = buildBundle();
    const rp = (name: string, annotations: Record<string, string>) => JSON.stringify({
      apiVersion: 'extensions.kubesphere.io/v1alpha1', kind: 'ReverseProxy', status: { state: 'Available' },
      metadata: { name, annotations: { 'ks-edge.io/allow-anonymous': 'true', ...annotations } },
      spec: { matcher: { path: `/res/${name}/*`, method: 'GET' }, upstream: { url: origin }, directives: { headerDown: ['Content-Type image/jpeg'] } },
    });
    await mkdir(join(dir, 'm'));
    const docs = [rp('cached', { 'ks-edge.io/cache': '1h' }), rp('uncached', {}), rp('far-cached', { 'ks-edge.io/cache': '1h' }), rp('far-uncached', {})];
    await writeFile(join(dir, 'm', 'r.yaml'), docs.map((d) => `---\n${d}\n`).join(''));
    mf = new Miniflare({
      modules: true, scriptPath: bundle, ...compatibility(), kvNamespaces: { KV: 'bench' },
      bindings: { AUTH: 'none', SNAPSHOT_REFRESH_SECONDS: '3600' }, host: '127.0.0.1', port: 0,
      handleRuntimeStdio: (stdout, stderr) => { stdout.resume(); stderr.resume(); },
    });
    const base = (await mf.ready).toString().replace(/\/$/, '');
    await runExport({ source: directorySource(join(dir, 'm')), target: kvNamespaceTarget(await mf.getKVNamespace('KV') as never, 'bench KV'), cluster: 'host', clusterOrigin: undefined });
    const get = async (path: string) => {
      const t0 = performance.now();
      const res = await fetch(base + path);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
      return { ms: performance.now() - t0, cache: res.headers.get('x-cache') };
    };
    for (const name of ['cached', 'far-cached']) {
      const primed = await get(`/res/${name}/logo.jpg`);
      if (primed.cache !== 'MISS') throw new Error(`the cached route answered X-Cache ${primed.cache}`);
      for (let i = 0; i < 20 && (await get(`/res/${name}/logo.jpg`)).cache !== 'HIT'; i++) await new Promise((r) => setTimeout(r, 50));
    }

    const NAMES = ['cached', 'uncached', 'far-cached', 'far-uncached'] as const;
    const sample = Object.fromEntries(NAMES.map((n) => [n, [] as { rps: number; p50: number }[]])) as Record<(typeof NAMES)[number], { rps: number; p50: number }[]>;
    const hitsBefore = (upstreamHits.get('cached') ?? 0) + (upstreamHits.get('far-cached') ?? 0);
    for (const name of NAMES) await wrk(`${base}/res/${name}/logo.jpg`, { seconds: 1, connections: CONNECTIONS });
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of NAMES) {
        const r = await wrk(`${base}/res/${name}/logo.jpg`, { seconds: SECONDS, connections: CONNECTIONS });
        if (r.errors) throw new Error(`${name}: ${r.errors} errors`);
        sample[name].push({ rps: r.rps, p50: r.p50_ms });
        log(`  round ${round + 1} ${name.padEnd(12)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50_ms.toFixed(2)} ms`);
      }
    }
    const upstreamWhileCached = (upstreamHits.get('cached') ?? 0) + (upstreamHits.get('far-cached') ?? 0) - hitsBefore;
    const misses: number[] = [];
    const plain: number[] = [];
    for (let i = 0; i < MISSES; i++) {
      const miss = await get(`/res/cached/m.jpg?n=${i}`);
      if (miss.cache !== 'MISS') throw new Error(`expected a miss, got ${miss.cache}`);
      misses.push(miss.ms);
      plain.push((await get(`/res/uncached/m.jpg?n=${i}`)).ms);
    }
    const rps = (n: (typeof NAMES)[number]) => Math.round(median(sample[n].map((s) => s.rps)));
    const p50 = (n: (typeof NAMES)[number]) => +median(sample[n].map((s) => s.p50)).toFixed(3);
    const result: CacheBench = {
      far_cached_rps: rps('far-cached'), far_uncached_rps: rps('far-uncached'), far_cached_p50_ms: p50('far-cached'), far_uncached_p50_ms: p50('far-uncached'),
      cached_rps: Math.round(median(sample.cached.map((s) => s.rps))),
      uncached_rps: Math.round(median(sample.uncached.map((s) => s.rps))),
      cached_p50_ms: +median(sample.cached.map((s) => s.p50)).toFixed(3),
      uncached_p50_ms: +median(sample.uncached.map((s) => s.p50)).toFixed(3),
      miss_ms: +median(misses).toFixed(3),
      no_cache_ms: +median(plain).toFixed(3),
      miss_cost_ms: +(median(misses) - median(plain)).toFixed(3),
      upstream_requests_cached: upstreamWhileCached,
    };
    log(`edge cache (Miniflare's Cache API, upstream on loopback): cached ${result.cached_rps} req/s p50 ${result.cached_p50_ms} ms; uncached ${result.uncached_rps} req/s p50 ${result.uncached_p50_ms} ms; ${result.upstream_requests_cached} upstream requests while cached`);
    log(`  upstream ${FAR_MS} ms away: cached ${result.far_cached_rps} req/s p50 ${result.far_cached_p50_ms} ms; uncached ${result.far_uncached_rps} req/s p50 ${result.far_uncached_p50_ms} ms`);
    log(`  a miss (lookup + store) ${result.miss_ms} ms against ${result.no_cache_ms} ms uncached: +${result.miss_cost_ms} ms (median of ${MISSES}, sequential)`);
    return result;
  } finally {
    await mf?.dispose();
    up.closeAllConnections();
    up.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await edgeCacheBench();
