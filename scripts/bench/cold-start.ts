/**
 * `npm run bench:cold` (also part of `npm run bench`): a cold isolate's first request and an isolate's memory.
 *
 * - cold start at 100, 1,000 and 10,000 routes (10,000 with 10,000 bindings and 5,000 users), AUTHZ=kubesphere,
 *   an authorized request: a fresh workerd process per sample, its first request's latency minus the median of
 *   the warm ones after it, minus the KV reads it waited for — timed apart, in another fresh process, by a worker
 *   reading the pointer, then the snapshot's head and body together through the same KV binding (kv-probe.js);
 * - the snapshot's size as stored (head, body) and as transferred (gzip);
 * - the isolate's V8 heap (workerd's inspector) with the 10,000-route snapshot read whole (the status page reads
 *   every part), the bundle cache full (32 MiB) and 10,000 verified tokens cached.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { SignJWT } from 'jose';
import { compileAuthz } from '../exporter/authz/compile';
import type { RawObject } from '../exporter/manifests';
import { publish, sha256 } from '../exporter/publish';
import { filesTarget } from '../exporter/targets/files';
import { buildBundle } from '../serve/bundle';
import { compatibility, workerdBinary, writeWorkerdConfig } from '../serve/workerd-config';
import { freePort, heapMiB } from './workerd-probe';
import { syntheticIam } from './authz';
import { syntheticSnapshot } from './routing';
import { bodyKey } from '../../worker/model/snapshot-layout';

const SIZES = [100, 1000, 10000] as const;
const SAMPLES = 7;
const SECRET = 'bench-jwt-secret-bench-jwt-secret';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export interface ColdBench {
  /**
   * The worker's own time before it can route: a first request that is routed and authorized, then answered at
   * the edge (a redirect route), minus a warm one, minus the KV reads it waited for.
   */
  cold_start_ms: Record<string, number>;
  /** The same for a first request that is proxied: what a cold isolate adds to a user's request, end to end. */
  cold_start_proxied_ms: Record<string, number>;
  /** At each size: first and warm requests (routed; proxied) and the KV reads (medians). */
  cold_parts_ms: Record<string, { first: number; warm: number; first_proxied: number; warm_proxied: number; kv_read: number }>;
  snapshot_bytes: { stored: number; transferred_gzip: number; head: number; header: number };
  isolate_heap_mib: number;
}

const listening = async (port: number) => {
  for (let i = 0; i < 400; i++) {
    const ok = await new Promise<boolean>((r) => connect(port, '127.0.0.1').once('connect', function (this: import('node:net').Socket) { this.destroy(); r(true); }).once('error', () => r(false)));
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('workerd did not listen');
};

/** The IAM a site of this size has; `bench` may GET /proxy/ext-1/* and /proxy/ext-3/* through GlobalRoleBindings. */
function iamFor(n: number): RawObject[] {
  const IAM = 'iam.kubesphere.io/v1beta1';
  const o = (kind: string, name: string, body: Record<string, unknown>): RawObject => ({ doc: { apiVersion: IAM, kind, metadata: { name }, ...body }, origin: 'bench' });
  const bench = [
    o('User', 'bench', { spec: { email: 'bench@x.io' }, status: { state: 'Active' } }),
    ...[1, 3].map((g) => o('GlobalRoleBinding', `bench-ext-${g}`, { roleRef: { apiGroup: 'iam.kubesphere.io', kind: 'GlobalRole', name: `ext-${g}` }, subjects: [{ apiGroup: 'iam.kubesphere.io', kind: 'User', name: 'bench' }] })),
  ];
  if (n === 10000) return [...syntheticIam(), ...bench];
  return [...[1, 3].map((g) => o('GlobalRole', `ext-${g}`, { rules: [{ nonResourceURLs: [`/proxy/ext-${g}/*`], verbs: ['GET'] }] })), ...bench];
}

export async function coldStartBench(log: (l: string) => void = console.log): Promise<ColdBench> {
  const dir = await mkdtemp(join(tmpdir(), 'ks-edge-cold-'));
  const up = createServer((_q, res) => res.end('ok'));
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
  const upOrigin = `http://127.0.0.1:${(up.address() as AddressInfo).port}`;
  const children: ChildProcess[] = [];
  const start = async (kvDir: string, opts: { inspector?: string; kvProbePort?: number; vars?: Record<string, string> } = {}) => {
    const port = await freePort();
    const config = join(dir, `c-${port}.capnp`);
    const doDir = join(dir, `do-${port}`);
    await mkdir(doDir);
    await writeWorkerdConfig(config, { bundle, kvDir, port, ...compatibility(), doDir, kvProbePort: opts.kvProbePort, vars: { JWT_SECRET: SECRET, SNAPSHOT_REFRESH_SECONDS: '3600', ...opts.vars } });
    const child = spawn(workerdBinary(), ['serve', config, ...(opts.inspector ? [`--inspector-addr=${opts.inspector}`] : [])], { stdio: 'ignore' });
    children.push(child);
    await listening(port);
    if (opts.kvProbePort) await listening(opts.kvProbePort);
    return { base: `http://127.0.0.1:${port}`, child };
  };
  const token = await new SignJWT({ username: 'bench', token_type: 'access_token' }).setSubject('bench').setProtectedHeader({ alg: 'HS256' }).setExpirationTime('2h').sign(new TextEncoder().encode(SECRET));
  const timed = async (base: string, path: string) => {
    const t0 = performance.now();
    const res = await fetch(base + path, { headers: { Authorization: `Bearer ${token}` }, redirect: 'manual' });
    await res.arrayBuffer();
    return { ms: performance.now() - t0, status: res.status };
  };
  /** What the worker's cold load waits for in KV, timed by a worker through the same binding (kv-probe.js). */
  const kvRead = async (probePort: number, hash: string) => Number(await (await fetch(`http://127.0.0.1:${probePort}/?hash=${hash}`)).text());
  const bundle = buildBundle();
  try {
    const result: ColdBench = { cold_start_ms: {}, cold_start_proxied_ms: {}, cold_parts_ms: {}, snapshot_bytes: { stored: 0, transferred_gzip: 0, head: 0, header: 0 }, isolate_heap_mib: 0 };
    for (const n of SIZES) {
      const snapshot = { ...syntheticSnapshot(n), cluster: 'host' };
      for (const r of [...snapshot.reverseProxies, ...snapshot.apiServices]) r.upstream = { origin: upOrigin };
      // rp-1 (/proxy/ext-1/*) answers at the edge once authorized: a request that is routed and not proxied.
      const routed = snapshot.reverseProxies.find((r) => r.name === 'rp-1')!;
      routed.policy = { ...routed.policy, redirect: { status: 302, origin: 'http://127.0.0.1:9', path: ['/ext-1'] } };
      snapshot.authz = compileAuthz(iamFor(n)).data;
      const kvDir = join(dir, `kv-${n}`);
      const js = new TextEncoder().encode('bundle();');
      for (const b of snapshot.bundles) b.hash = sha256(js);
      const { hash } = await publish(filesTarget(kvDir), snapshot, new Map([[sha256(js), js]]));
      if (n === 10000) {
        const head = await readFile(join(kvDir, 'snapshot', hash));
        const body = await readFile(join(kvDir, bodyKey(hash)));
        result.snapshot_bytes = {
          stored: head.length + body.length, transferred_gzip: gzipSync(head).length + gzipSync(body).length,
          head: head.length, header: head.indexOf(10),
        };
      }
      const cold = async (path: string, status: number) => {
        const { base, child } = await start(kvDir);
        const first = await timed(base, path);
        if (first.status !== status) throw new Error(`cold request ${path} answered ${first.status}`);
        const warm: number[] = [];
        for (let k = 0; k < 20; k++) warm.push((await timed(base, path)).ms);
        child.kill('SIGTERM');
        return { first: first.ms, warm: median(warm) };
      };
      const samples: { routed: { first: number; warm: number }; proxied: { first: number; warm: number }; kv: number }[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        const routed = await cold('/proxy/ext-1/x', 302);
        const proxied = await cold('/proxy/ext-3/x', 200);
        const kvProbePort = await freePort();
        const other = await start(kvDir, { kvProbePort });
        const kv = await kvRead(kvProbePort, hash);
        other.child.kill('SIGTERM');
        samples.push({ routed, proxied, kv });
      }
      const r1 = (x: number) => +x.toFixed(1);
      const m = (f: (x: (typeof samples)[number]) => number) => r1(median(samples.map(f)));
      result.cold_start_ms[String(n)] = m((x) => x.routed.first - x.routed.warm - x.kv);
      result.cold_start_proxied_ms[String(n)] = m((x) => x.proxied.first - x.proxied.warm - x.kv);
      const p = (result.cold_parts_ms[String(n)] = {
        first: m((x) => x.routed.first), warm: m((x) => x.routed.warm), first_proxied: m((x) => x.proxied.first),
        warm_proxied: m((x) => x.proxied.warm), kv_read: m((x) => x.kv),
      });
      log(`  cold start at ${String(n).padStart(5)} routes${n === 10000 ? ' + 10,000 bindings + 5,000 users' : ''}: ${result.cold_start_ms[String(n)]} ms of the worker's own time before it routes (first request ${p.first} ms − warm ${p.warm} ms − KV reads ${p.kv_read} ms); a proxied request: ${result.cold_start_proxied_ms[String(n)]} ms (${p.first_proxied} − ${p.warm_proxied} − ${p.kv_read}); median of ${SAMPLES} fresh processes each`);
    }
    const b = result.snapshot_bytes;
    log(`  snapshot at 10,000 routes: ${(b.stored / 1e6).toFixed(2)} MB stored (head ${(b.head / 1e3).toFixed(0)} kB, of it the header ${(b.header / 1e3).toFixed(0)} kB), ${(b.transferred_gzip / 1e6).toFixed(2)} MB gzipped in transfer`);

    // Memory: the 10,000-route snapshot, the bundle cache full (8 bundles of 4 MiB) and 10,000 cached tokens.
    const snapshot = { ...syntheticSnapshot(10000), cluster: 'host' };
    snapshot.authz = compileAuthz(syntheticIam()).data;
    snapshot.authz.users.bench = 'Active';
    for (const r of snapshot.reverseProxies) r.upstream = { origin: upOrigin };
    const blobs = new Map<string, Uint8Array>();
    snapshot.bundles = Array.from({ length: 8 }, (_, i) => {
      const bytes = new Uint8Array(4 * 1024 * 1024 - 1024).fill(97 + i);
      const hash = sha256(bytes);
      blobs.set(hash, bytes);
      return { bundle: `big-${i}`, link: `/dist/big-${i}/index.js`, contentType: 'application/javascript', hash, size: bytes.byteLength };
    });
    const kvDir = join(dir, 'kv-memory');
    await publish(filesTarget(kvDir), snapshot, blobs);
    const inspector = `127.0.0.1:${await freePort()}`;
    // AUTHZ=none: any authenticated user may read the status page, which reads every part of the snapshot.
    const { base } = await start(kvDir, { inspector, vars: { AUTHZ: 'none' } });
    if ((await timed(base, '/_gateway/status')).status !== 200) throw new Error('the status page did not answer');
    for (let i = 0; i < 8; i++) await timed(base, `/dist/big-${i}/index.js`);
    const key = new TextEncoder().encode(SECRET);
    for (let i = 0; i < 10_000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, async (_, k) => {
        const t = await new SignJWT({ username: `user${(i + k) % 5000}`, jti: String(i + k), token_type: 'access_token' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('2h').sign(key);
        await (await fetch(`${base}/proxy/ext-1/x`, { headers: { Authorization: `Bearer ${t}` } })).arrayBuffer();
      }));
    }
    result.isolate_heap_mib = await heapMiB(inspector);
    log(`  isolate heap with 10,000 routes + 10,000 bindings read whole, the bundle cache full (32 MiB) and 10,000 cached tokens: ${result.isolate_heap_mib} MiB (budget ≤ 64)`);
    return result;
  } finally {
    for (const c of children) c.kill('SIGTERM');
    up.closeAllConnections();
    up.close();
    await new Promise((r) => setTimeout(r, 300));
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await coldStartBench();
