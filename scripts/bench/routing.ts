/**
 * Route matching and snapshot compilation at 10, 1,000 and 10,000 resources: ks-edge's RouteTable against Hono's
 * routers and itty-router, on the same routes and the same request paths (hits of every kind and misses).
 * "compile" for ks-edge is JSON.parse + valibot validation + the route index of a whole snapshot in memory (the
 * layout-1 path; a cold isolate reading layout 2 does far less: `npm run bench:cold`).
 */
import * as v from 'valibot';
import { LinearRouter } from 'hono/router/linear-router';
import { PatternRouter } from 'hono/router/pattern-router';
import { RegExpRouter } from 'hono/router/reg-exp-router';
import { TrieRouter } from 'hono/router/trie-router';
import { IttyRouter } from 'itty-router';
import { compileDirectives } from '../../worker/directives/parse';
import { Snapshot, type Snapshot as SnapshotT } from '../../worker/model/snapshot';
import { RouteTable } from '../../worker/route-table';

export const SIZES = [10, 1000, 10000] as const;

/** A snapshot of n resources: ReverseProxies (prefix and exact), APIServices and JSBundle links. */
export function syntheticSnapshot(n: number): SnapshotT {
  const s: SnapshotT = { schemaVersion: 1, cluster: 'bench', apiServices: [], reverseProxies: [], bundles: [], resources: [] };
  const policy = { allowAnonymous: false, timeoutMs: 30_000 };
  const upstream = { origin: 'http://127.0.0.1:9' };
  for (let i = 0; i < n; i++) {
    const kind = i % 20;
    if (kind < 9) {
      s.reverseProxies.push({ name: `rp-${i}`, available: true, policy, upstream, matchers: [{ path: `/proxy/ext-${i}/*`, method: i % 2 ? 'GET' : '*' }],
        directives: compileDirectives({ stripPathPrefix: `/proxy/ext-${i}`, headerUp: ['-Authorization', `X-Ext ext-${i}`], headerDown: ['X-Served-By edge'] }) });
    } else if (kind < 10) {
      s.reverseProxies.push({ name: `exact-${i}`, available: true, policy, upstream, matchers: [{ path: `/proxy/exact-${i}`, method: 'GET' }], directives: compileDirectives(undefined) });
    } else if (kind < 15) {
      s.apiServices.push({ name: `v1.g-${i}.io`, group: `g-${i}.io`, version: 'v1', available: true, policy, upstream });
    } else {
      s.bundles.push({ bundle: `b-${i}`, link: `/dist/ext-${i}/index.js`, contentType: 'application/javascript; charset=utf-8', hash: 'a'.repeat(64), size: 100 });
    }
    s.resources.push({ kind: 'ReverseProxy', name: `r-${i}`, state: 'Available', routes: [], problems: [], warnings: [] });
  }
  return s;
}

/** Request paths: one of each route kind per 4, plus misses, spread over the whole table. */
export function samplePaths(n: number, count = 1000): string[] {
  const out: string[] = [];
  for (let k = 0; k < count; k++) {
    const i = Math.floor((k * 7919) % n);
    const base = i - (i % 20);
    switch (k % 5) {
      case 0: out.push(`/proxy/ext-${base + 1}/img/logo.png`); break;
      case 1: out.push(`/proxy/exact-${base + 9}`); break;
      case 2: out.push(`/kapis/g-${base + 10}.io/v1/namespaces/x/things`); break;
      case 3: out.push(`/dist/ext-${base + 15}/index.js`); break;
      default: out.push(`/console/page-${k}`); break;
    }
  }
  return out;
}

type Matcher = (path: string) => unknown;

interface Candidate { name: string; build(s: SnapshotT): Matcher | Promise<Matcher>; async?: boolean }

function routesOf(s: SnapshotT): [string, string][] {
  const r: [string, string][] = [];
  for (const b of s.bundles) r.push(['GET', b.link]);
  for (const p of s.reverseProxies) for (const m of p.matchers) r.push([m.method === '*' ? 'ALL' : m.method, m.path]);
  for (const a of s.apiServices) r.push(['ALL', `/kapis/${a.group}/${a.version}/*`]);
  return r;
}

const honoCandidate = (name: string, make: () => { add(m: string, p: string, h: unknown): void; match(m: string, p: string): unknown }): Candidate => ({
  name,
  build(s) {
    const router = make();
    for (const [method, path] of routesOf(s)) router.add(method === 'ALL' ? 'ALL' : method, path, path);
    router.match('GET', '/warm');
    return (path) => router.match('GET', path);
  },
});

export const CANDIDATES: Candidate[] = [
  {
    name: 'ks-edge RouteTable',
    build(s) {
      const text = JSON.stringify(s);
      const parsed = v.parse(Snapshot, JSON.parse(text));
      const t = RouteTable.of(parsed, 'h');
      return (path) => t.matchBundle(path) ?? t.matchReverseProxy(path, 'GET') ?? t.matchApiService(path);
    },
  },
  honoCandidate('hono RegExpRouter', () => new RegExpRouter()),
  honoCandidate('hono TrieRouter', () => new TrieRouter()),
  honoCandidate('hono LinearRouter', () => new LinearRouter()),
  honoCandidate('hono PatternRouter', () => new PatternRouter()),
  {
    name: 'itty-router',
    async: true,
    build(s) {
      const router = IttyRouter();
      for (const [method, path] of routesOf(s)) (router as unknown as Record<string, (p: string, h: () => string) => void>)[method.toLowerCase()]!(path, () => path);
      return (path) => router.fetch({ method: 'GET', url: `http://edge${path}` } as never);
    },
  },
];

/** Median ns per match over batches, after a warm-up. */
async function timeMatch(match: Matcher, paths: string[], isAsync: boolean, budgetMs: number): Promise<number> {
  const batch = paths.length;
  const run = async () => {
    const t0 = process.hrtime.bigint();
    if (isAsync) for (const p of paths) await match(p);
    else for (const p of paths) match(p);
    return Number(process.hrtime.bigint() - t0) / batch;
  };
  for (let i = 0; i < 3; i++) await run();
  const samples: number[] = [];
  const until = performance.now() + budgetMs;
  while (samples.length < 5 || (performance.now() < until && samples.length < 60)) samples.push(await run());
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

export interface RoutingResult { name: string; size: number; match_ns: number; compile_ms: number }

export async function routingBench(opts: { budgetMs?: number; log?: (l: string) => void } = {}): Promise<RoutingResult[]> {
  const results: RoutingResult[] = [];
  for (const size of SIZES) {
    const snapshot = syntheticSnapshot(size);
    const paths = samplePaths(size);
    for (const c of CANDIDATES) {
      // Compile: median of a few builds (the first one also pays for JIT warm-up).
      const builds: number[] = [];
      let match: Matcher | undefined;
      for (let i = 0; i < (size >= 10000 ? 5 : 9); i++) {
        const t0 = performance.now();
        match = await c.build(snapshot);
        builds.push(performance.now() - t0);
      }
      builds.sort((a, b) => a - b);
      const compile_ms = builds[Math.floor(builds.length / 2)]!;
      const match_ns = await timeMatch(match!, paths, Boolean(c.async), opts.budgetMs ?? 400);
      results.push({ name: c.name, size, match_ns, compile_ms });
      opts.log?.(`  ${c.name.padEnd(20)} ${String(size).padStart(6)} resources: match ${match_ns.toFixed(0).padStart(7)} ns, compile ${compile_ms.toFixed(2).padStart(8)} ms`);
    }
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log('route matching (median ns per request path) and compilation (ms):');
  await routingBench({ log: console.log });
}
