/**
 * `npm run bench` (`-- --json` for one JSON object as the last line): in one run, interleaved, wrk on 127.0.0.1
 * against ks-edge's production bundle on plain workerd (1,000-resource snapshot with 10,000 IAM bindings; the route
 * uses authentication, KubeSphere's authorization, headerUp, headerDown and stripPathPrefix), the same gateway with
 * AUTHZ=none, a minimal passthrough worker on the same workerd, nginx and Caddy with the
 * equivalent rules — all in front of one nginx upstream. Then route matching and compilation at 10/1,000/10,000
 * resources, KV reads per request (counted by the worker), and the bundle's gzipped size. Checks the budgets, writes
 * scripts/bench/results.json and results.svg. Needs wrk, nginx and caddy (apt-get install wrk nginx caddy).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { SignJWT } from 'jose';
import { runExport } from '../exporter/run';
import { directorySource } from '../exporter/sources/directory';
import { filesTarget } from '../exporter/targets/files';
import { buildBundle } from '../serve/bundle';
import { compatibility, workerdBinary, writeWorkerdConfig } from '../serve/workerd-config';
import { pinned, SERVER_CPU, startCaddy, startFloors, startNginxProxy, startUpstream, waitFor, type Running } from './load-targets';
import { authzBench, syntheticIam } from './authz';
import { coldStartBench } from './cold-start';
import { fleetBench } from './fleet';
import { tokenReviewBench } from './token-review';
import { edgeCacheBench } from './edge-cache';
import { freePort } from './workerd-probe';
import { routingBench, SIZES } from './routing';
import { renderChart } from './chart';
import { wrk, type WrkResult } from './wrk';

const json = process.argv.includes('--json');
const say = (l: string) => { if (!json) console.log(l); };
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const SECRET = 'bench-jwt-secret-bench-jwt-secret';

for (const tool of ['wrk', 'nginx', 'caddy']) {
  try {
    execFileSync('which', [tool], { stdio: 'ignore' });
  } catch {
    console.error(`npm run bench needs ${tool}: apt-get install wrk nginx caddy`);
    process.exit(2);
  }
}

/** 999 resources of every kind plus the measured route. */
function manifests(upstreamPort: number): string {
  const docs: unknown[] = [];
  const meta = (name: string) => ({ name });
  for (let i = 0; i < 999; i++) {
    const status = { state: 'Available' };
    if (i % 3 === 0) docs.push({ apiVersion: 'extensions.kubesphere.io/v1alpha1', kind: 'ReverseProxy', metadata: meta(`rp-${i}`), spec: { matcher: { path: `/proxy/ext-${i}/*`, method: 'GET' }, upstream: { url: `http://127.0.0.1:${upstreamPort}` }, directives: { stripPathPrefix: `/proxy/ext-${i}` } }, status });
    else if (i % 3 === 1) docs.push({ apiVersion: 'extensions.kubesphere.io/v1alpha1', kind: 'APIService', metadata: meta(`v1.g-${i}.io`), spec: { group: `g-${i}.io`, version: 'v1', url: `http://127.0.0.1:${upstreamPort}` }, status });
    else docs.push({ apiVersion: 'extensions.kubesphere.io/v1alpha1', kind: 'JSBundle', metadata: { name: `b-${i}`, labels: { 'kubesphere.io/extension-ref': `b-${i}` } }, spec: { raw: Buffer.from(`b(${i})`).toString('base64') }, status });
  }
  // KubeSphere's authorization on: 10,000 bindings of other users (scripts/bench/authz.ts), and the bench user's.
  const iam = 'iam.kubesphere.io/v1beta1';
  docs.push(...syntheticIam().map((o) => o.doc),
    { apiVersion: iam, kind: 'User', metadata: { name: 'bench' }, spec: { email: 'bench@x.io' }, status: { state: 'Active' } },
    { apiVersion: iam, kind: 'GlobalRole', metadata: { name: 'bench-route' }, rules: [{ nonResourceURLs: ['/bench/*'], verbs: ['GET'] }] },
    { apiVersion: iam, kind: 'GlobalRoleBinding', metadata: { name: 'bench-bench-route' }, roleRef: { apiGroup: 'iam.kubesphere.io', kind: 'GlobalRole', name: 'bench-route' },
      subjects: [{ apiGroup: 'iam.kubesphere.io', kind: 'User', name: 'bench' }] },
    { apiVersion: iam, kind: 'GlobalRole', metadata: { name: 'bench-status' }, rules: [{ nonResourceURLs: ['/_gateway/status'], verbs: ['GET'] }] },
    { apiVersion: iam, kind: 'GlobalRoleBinding', metadata: { name: 'bench-bench-status' }, roleRef: { apiGroup: 'iam.kubesphere.io', kind: 'GlobalRole', name: 'bench-status' },
      subjects: [{ apiGroup: 'iam.kubesphere.io', kind: 'User', name: 'bench' }] });
  // The same route with a rate limit no load reaches: what counting in a Durable Object costs per request.
  docs.push({
    apiVersion: 'extensions.kubesphere.io/v1alpha1', kind: 'ReverseProxy', status: { state: 'Available' },
    metadata: { name: 'bench-limited', annotations: { 'ks-edge.io/claim-path': 'true', 'ks-edge.io/rate-limit': '1000000000/1s;key=ip' } },
    spec: { matcher: { path: '/bench/limited/*', method: 'GET' }, upstream: { url: `http://127.0.0.1:${upstreamPort}` },
      directives: { stripPathPrefix: '/bench/limited', headerUp: ['-Authorization', 'X-Ext bench'], headerDown: ['X-Served-By edge'] } },
  });
  docs.push({
    apiVersion: 'extensions.kubesphere.io/v1alpha1', kind: 'ReverseProxy', metadata: { name: 'bench', annotations: { 'ks-edge.io/claim-path': 'true' } }, status: { state: 'Available' },
    spec: { matcher: { path: '/bench/*', method: 'GET' }, upstream: { url: `http://127.0.0.1:${upstreamPort}` },
      directives: { stripPathPrefix: '/bench', headerUp: ['-Authorization', 'X-Ext bench'], headerDown: ['X-Served-By edge'] } },
  });
  return docs.map((d) => `---\n${JSON.stringify(d)}\n`).join('');
}

async function freePorts(n: number): Promise<number[]> {
  const out = new Set<number>();
  while (out.size < n) out.add(await freePort());
  return [...out];
}

const mkdirp = async (d: string) => { await mkdir(d, { recursive: true }); return d; };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export { manifests };

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'ks-edge-bench-'));
  const procs: ChildProcess[] = [];
  try {
    say('building the production bundle…');
    const bundle = buildBundle();
    const bundleGzip = gzipSync(await readFile(bundle)).length;
    const [upPort, gwPort, gwNoAuthzPort, nginxPort, caddyPort, ...floorPorts] = await freePorts(8);
    const { compatibilityDate, compatibilityFlags } = compatibility();

    const upstream = await startUpstream(dir, upPort!);
    procs.push(upstream.proc);
    await waitFor(`${upstream.url}/`);

    await mkdir(join(dir, 'manifests'));
    await writeFile(join(dir, 'manifests', 'bench.yaml'), manifests(upPort!));
    const kvDir = join(dir, 'kv');
    const exported = await runExport({ source: directorySource(join(dir, 'manifests')), target: filesTarget(kvDir), cluster: 'host', clusterOrigin: undefined });
    const config = join(dir, 'gateway.capnp');
    await writeWorkerdConfig(config, { bundle, kvDir, port: gwPort!, vars: { JWT_SECRET: SECRET, SNAPSHOT_REFRESH_SECONDS: '10' }, compatibilityDate, compatibilityFlags, doDir: await mkdirp(join(dir, 'do')) });
    const gateway: Running = { name: 'ks-edge gateway', url: `http://127.0.0.1:${gwPort}`, proc: spawn(...pinned(SERVER_CPU, workerdBinary(), ['serve', config]), { stdio: 'ignore' }) };
    procs.push(gateway.proc);
    // The same gateway and snapshot with authorization off (AUTHZ=none): what KubeSphere's authorization costs.
    const configNoAuthz = join(dir, 'gateway-noauthz.capnp');
    await writeWorkerdConfig(configNoAuthz, { bundle, kvDir, port: gwNoAuthzPort!, vars: { JWT_SECRET: SECRET, SNAPSHOT_REFRESH_SECONDS: '10', AUTHZ: 'none' }, compatibilityDate, compatibilityFlags, doDir: await mkdirp(join(dir, 'do-noauthz')) });
    const gatewayNoAuthz: Running = { name: 'gateway AUTHZ=none', url: `http://127.0.0.1:${gwNoAuthzPort}`, proc: spawn(...pinned(SERVER_CPU, workerdBinary(), ['serve', configNoAuthz]), { stdio: 'ignore' }) };
    procs.push(gatewayNoAuthz.proc);
    const floors = await startFloors(dir, floorPorts, upPort!, compatibilityDate);
    procs.push(floors[0]!.proc);
    // wrk asks `${url}/bench/hello`: this target's requests take the rate-limited route.
    const gatewayLimited: Running = { name: 'gateway rate-limited', url: `${gateway.url}/bench/limited`, proc: gateway.proc };
    const targets = [gateway, gatewayLimited, gatewayNoAuthz, ...floors];
    // BENCH_WORKERD_ONLY=1 (development): the workerd targets only, no routing micro-benchmark.
    const quick = process.env.BENCH_WORKERD_ONLY === '1';
    if (!quick) {
      const others = [await startNginxProxy(dir, nginxPort!, upPort!), await startCaddy(dir, caddyPort!, upPort!)];
      targets.push(...others);
      procs.push(...others.map((o) => o.proc));
    }

    const token = await new SignJWT({ username: 'bench', token_type: 'access_token' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('2h').sign(new TextEncoder().encode(SECRET));
    const headers: Record<string, string> = { Authorization: `Bearer ${token}`, ...(process.env.BENCH_EXTRA_HEADER ? { 'X-Exp': process.env.BENCH_EXTRA_HEADER } : {}) };
    for (const t of targets) await waitFor(`${t.url}/bench/hello`, headers);
    const floorCheck = await fetch(`${floors[2]!.url}/bench/hello`, { headers });
    if (floorCheck.headers.get('x-served-by') !== 'edge') throw new Error('the header-rules floor does not work');
    const check = await fetch(`${gateway.url}/bench/hello`, { headers });
    if (check.status !== 200 || check.headers.get('x-served-by') !== 'edge') throw new Error(`the gateway route does not work: ${check.status}`);
    say(`snapshot: ${exported.resources.length} resources; ${SECONDS}s × ${ROUNDS} rounds per target, ${CONNECTIONS} connections, interleaved`);

    const kvReads = async () => {
      const s = (await (await fetch(`${gateway.url}/_gateway/status`, { headers })).json()) as { kvReads: number; backgroundKvReads: number };
      return { onPath: s.kvReads, background: s.backgroundKvReads };
    };
    const samples = new Map<string, WrkResult[]>(targets.map((t) => [t.name, []]));
    for (const t of targets) await wrk(`${t.url}/bench/hello`, { seconds: 2, connections: CONNECTIONS, headers }); // warm-up
    const readsBefore = await kvReads();
    let gatewayRequests = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      for (const t of targets) {
        const r = await wrk(`${t.url}/bench/hello`, { seconds: SECONDS, connections: CONNECTIONS, headers });
        if (r.errors) throw new Error(`${t.name}: ${r.errors} errors in round ${round}`);
        samples.get(t.name)!.push(r);
        if (t === gateway) gatewayRequests += r.requests;
        say(`  round ${round} ${t.name.padEnd(20)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50_ms.toFixed(2)} ms  p99 ${r.p99_ms.toFixed(2)} ms`);
      }
    }
    // Authorization's cost is a few percent, below what rounds minutes apart can tell: pairs of rounds back to back,
    // the median of their ratios.
    const authzPairs: number[] = [];
    for (let pair = 0; pair < (quick ? 0 : 7); pair++) {
      const on = await wrk(`${gateway.url}/bench/hello`, { seconds: 4, connections: CONNECTIONS, headers });
      const off = await wrk(`${gatewayNoAuthz.url}/bench/hello`, { seconds: 4, connections: CONNECTIONS, headers });
      gatewayRequests += on.requests;
      authzPairs.push(on.rps / off.rps);
    }
    if (authzPairs.length) say(`  authorization on / AUTHZ=none, paired rounds: ${authzPairs.map((x) => x.toFixed(3)).join(' ')}`);
    const readsAfter = await kvReads();
    const load = targets.map((t) => {
      const s = samples.get(t.name)!;
      return { name: t.name, rps: median(s.map((x) => x.rps)), p50_ms: median(s.map((x) => x.p50_ms)), p99_ms: median(s.map((x) => x.p99_ms)) };
    });
    const pass = load.find((l) => l.name === 'passthrough worker')!.rps;

    if (quick) {
      for (const l of load) console.log(`${l.name.padEnd(20)} ${l.rps.toFixed(0).padStart(8)} req/s  p50 ${l.p50_ms.toFixed(2)}  p99 ${l.p99_ms.toFixed(2)}  ${(l.rps / pass).toFixed(2)}×`);
      return;
    }
    say('route matching and compilation:');
    const routing = await routingBench({ budgetMs: 300, log: say });
    const authz = await authzBench(say);
    const fleet = await fleetBench(say);
    const review = await tokenReviewBench(say);
    const edgeCache = await edgeCacheBench(say);
    say('cold isolates and memory:');
    const cold = await coldStartBench(say);
    const ours = routing.filter((r) => r.name === 'ks-edge RouteTable');
    const byName = Object.fromEntries(load.map((l) => [l.name, l]));
    const result = {
      gateway_rps: Math.round(byName['ks-edge gateway']!.rps),
      passthrough_rps: Math.round(pass),
      nginx_rps: Math.round(byName.nginx!.rps),
      caddy_rps: Math.round(byName.caddy!.rps),
      ratio_vs_passthrough: +(byName['ks-edge gateway']!.rps / pass).toFixed(3),
      gateway_authz_none_rps: Math.round(byName['gateway AUTHZ=none']!.rps),
      authz_throughput_ratio: +median(authzPairs).toFixed(3),
      rate_limited_rps: Math.round(byName['gateway rate-limited']!.rps),
      rate_limit_cost_us: +((1e6 / byName['gateway rate-limited']!.rps - 1e6 / byName['ks-edge gateway']!.rps)).toFixed(1),
      cold_start_ms: cold.cold_start_ms,
      cold_start_proxied_ms: cold.cold_start_proxied_ms,
      cold_parts_ms: cold.cold_parts_ms,
      isolate_heap_mib: cold.isolate_heap_mib,
      snapshot_bytes: cold.snapshot_bytes,
      fleet_first_request_to_unloaded_cluster_ms: fleet.first_request_to_unloaded_cluster_ms,
      fleet_heap_with_10_members_mib: fleet.heap_with_10_members_mib,
      fleet_warm_member_ms: fleet.warm_member_ms,
      fleet_warm_host_ms: fleet.warm_host_ms,
      token_review_first_use_added_ms: review.first_use_added_ms,
      edge_cache: edgeCache,
      token_review_warm_reviews_per_request: review.warm_reviews / review.warm_requests,
      authz_decision_ns: authz.decision_ns,
      authz_cold_load_ms: authz.cold_load_ms,
      match_ns: Object.fromEntries(SIZES.map((n) => [String(n), Math.round(ours.find((r) => r.size === n)!.match_ns)])),
      compile_ms: Object.fromEntries(SIZES.map((n) => [String(n), +ours.find((r) => r.size === n)!.compile_ms.toFixed(2)])),
      kv_reads_per_request: (readsAfter.onPath - readsBefore.onPath) / gatewayRequests,
      bundle_gzip_bytes: bundleGzip,
      latency_ms: Object.fromEntries(load.map((l) => [l.name, { p50: +l.p50_ms.toFixed(3), p99: +l.p99_ms.toFixed(3) }])),
    };
    const budgets = [
      ['throughput ≥ 0.85 × passthrough (the first budget)', result.ratio_vs_passthrough >= 0.85, `${result.ratio_vs_passthrough}`],
      ['throughput with authorization on ≥ 0.75 × passthrough (#14)', result.ratio_vs_passthrough >= 0.75, `${result.ratio_vs_passthrough}`],
      ['match among 10,000 ≤ 2 µs median', result.match_ns['10000']! <= 2000, `${result.match_ns['10000']} ns`],
      ['compile 10,000 ≤ 100 ms', result.compile_ms['10000']! <= 100, `${result.compile_ms['10000']} ms`],
      ['zero KV reads per request (warm)', result.kv_reads_per_request === 0,
        `${readsAfter.onPath - readsBefore.onPath} on a request's path in ${gatewayRequests} requests (${readsAfter.background - readsBefore.background} background looks at \`current\`, every ${10} s)`],
      ['token review: no review round trip on a warm request (#20)', result.token_review_warm_reviews_per_request === 0,
        `${review.warm_reviews} reviews in ${review.warm_requests} warm requests; first use of a token +${review.first_use_added_ms} ms (core on loopback)`],
      ['bundle ≤ 100 KiB gzipped', result.bundle_gzip_bytes <= 100 * 1024, `${(result.bundle_gzip_bytes / 1024).toFixed(1)} KiB`],
      ['authorization costs ≤ 5% of throughput', result.authz_throughput_ratio >= 0.95, `${result.authz_throughput_ratio} × the same gateway with AUTHZ=none (median of 7 back-to-back pairs)`],
      ['authorization decision (50 of 10,000 bindings) ≤ 2 µs median', result.authz_decision_ns <= 2000, `${result.authz_decision_ns} ns`],
      ['cold load of 10,000 routes + 10,000 bindings ≤ 100 ms', result.authz_cold_load_ms <= 100, `${result.authz_cold_load_ms} ms`],
      ['isolate heap (10,000 routes and bindings, bundle cache full, 10,000 tokens) ≤ 64 MiB', result.isolate_heap_mib <= 64, `${result.isolate_heap_mib} MiB`],
      ['cold start at 10,000 routes + bindings ≤ 15 ms of the worker\'s own time', result.cold_start_ms['10000']! <= 15,
        `${result.cold_start_ms['10000']} ms before it routes (routed and authorized; first request − warm − KV reads, fresh workerd); a proxied request ${result.cold_start_proxied_ms['10000']} ms`],
    ] as const;

    say('\ntarget                  req/s    p50 ms   p99 ms   × passthrough');
    for (const l of load) say(`${l.name.padEnd(20)} ${l.rps.toFixed(0).padStart(8)} ${l.p50_ms.toFixed(2).padStart(8)} ${l.p99_ms.toFixed(2).padStart(8)}   ${(l.rps / pass).toFixed(2)}`);
    say('\nbudgets:');
    for (const [what, ok, value] of budgets) say(`  ${ok ? 'ok  ' : 'MISS'} ${what}: ${value}`);
    const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, workerd ${compatibilityDate}`;
    await writeFile('scripts/bench/results.json', JSON.stringify({ machine, date: new Date().toISOString(), ...result, load, routing }, null, 2) + '\n');
    await writeFile('scripts/bench/results.svg', renderChart(load, routing, machine));
    say(`\nwrote scripts/bench/results.json and results.svg (${machine})`);
    console.log(JSON.stringify(result));
    process.exitCode = budgets.every(([, ok]) => ok) ? 0 : 1;
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
