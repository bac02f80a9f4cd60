/**
 * `npm run bench:cold` (also part of `npm run bench`): a cold isolate's first request and an isolate's memory.
 *
 * - cold start at 100, 1,000 and 10,000 routes (10,000 with 10,000 bindings and 5,000 users): a fresh workerd
 *   process per sample, its first request's latency minus the median of the warm ones after it — the worker's own
 *   loading (pointer and snapshot reads from the local KV service included, which makes this an upper bound);
 * - the parts of the 10,000-route load timed in Node's V8 (hash, decode and parse, route table), the rest being
 *   the local KV reads and the first request itself;
 * - the snapshot's size as stored and as transferred (gzip);
 * - the isolate's V8 heap (workerd's inspector) with the 10,000-route snapshot loaded, the bundle cache full
 *   (32 MiB) and 10,000 verified tokens cached.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { SignJWT } from 'jose';
import { compileAuthz } from '../exporter/authz/compile';
import { publish, sha256 } from '../exporter/publish';
import { filesTarget } from '../exporter/targets/files';
import { buildBundle } from '../serve/bundle';
import { compatibility, workerdBinary, writeWorkerdConfig } from '../serve/workerd-config';
import { freePort, heapMiB } from './workerd-probe';
import { syntheticIam } from './authz';
import { syntheticSnapshot } from './routing';
import type { Snapshot } from '../../worker/model/snapshot';
import { RouteTable } from '../../worker/route-table';
import { sha256Hex } from '../../worker/snapshot/store';

const SIZES = [100, 1000, 10000] as const;
const SAMPLES = 5;
const SECRET = 'bench-jwt-secret-bench-jwt-secret';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export interface ColdBench {
  cold_start_ms: Record<string, number>;
  /** The parts of the 10,000-route load timed in Node's V8 (the engine workerd runs): what a layout change would cut. */
  cold_parts_ms: { hash: number; parse: number; route_table: number; rest: number };

  snapshot_bytes: { stored: number; transferred_gzip: number };
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

/** What the worker does with the snapshot's text on a cold load, each part timed (median of 5). */
async function loadParts(text: string): Promise<{ hash: number; parse: number; route_table: number; rest: number }> {
  const hash: number[] = [], parse: number[] = [], table: number[] = [];
  for (let i = 0; i < 5; i++) {
    const bytes = new TextEncoder().encode(text).buffer as ArrayBuffer;
    let t = performance.now();
    const digest = await sha256Hex(bytes);
    hash.push(performance.now() - t);
    t = performance.now();
    const json = JSON.parse(new TextDecoder().decode(bytes)) as Snapshot;
    parse.push(performance.now() - t);
    t = performance.now();
    new RouteTable(json, digest);
    table.push(performance.now() - t);
  }
  const r = (xs: number[]) => +median(xs).toFixed(1);
  return { hash: r(hash), parse: r(parse), route_table: r(table), rest: 0 };
}

export async function coldStartBench(log: (l: string) => void = console.log): Promise<ColdBench> {
  const dir = await mkdtemp(join(tmpdir(), 'ks-edge-cold-'));
  const up = createServer((_q, res) => res.end('ok'));
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
  const upOrigin = `http://127.0.0.1:${(up.address() as AddressInfo).port}`;
  const children: ChildProcess[] = [];
  const start = async (kvDir: string, inspector?: string) => {
    const port = await freePort();
    const config = join(dir, `c-${port}.capnp`);
    const doDir = join(dir, `do-${port}`);
    await mkdir(doDir);
    await writeWorkerdConfig(config, { bundle, kvDir, port, ...compatibility(), doDir, vars: { JWT_SECRET: SECRET, AUTHZ: 'none', SNAPSHOT_REFRESH_SECONDS: '3600' } });
    const child = spawn(workerdBinary(), ['serve', config, ...(inspector ? [`--inspector-addr=${inspector}`] : [])], { stdio: 'ignore' });
    children.push(child);
    await listening(port);
    return { base: `http://127.0.0.1:${port}`, child };
  };
  const token = await new SignJWT({ username: 'bench', token_type: 'access_token' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('2h').sign(new TextEncoder().encode(SECRET));
  const timed = async (base: string, path: string) => {
    const t0 = performance.now();
    const res = await fetch(base + path, { headers: { Authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    return { ms: performance.now() - t0, status: res.status };
  };
  const bundle = buildBundle();
  try {
    const result: ColdBench = { cold_start_ms: {}, cold_parts_ms: { hash: 0, parse: 0, route_table: 0, rest: 0 }, snapshot_bytes: { stored: 0, transferred_gzip: 0 }, isolate_heap_mib: 0 };
    for (const n of SIZES) {
      const snapshot = { ...syntheticSnapshot(n), cluster: 'host' };
      for (const r of [...snapshot.reverseProxies, ...snapshot.apiServices]) r.upstream = { origin: upOrigin };
      if (n === 10000) snapshot.authz = { ...compileAuthz(syntheticIam()).data };
      if (snapshot.authz) snapshot.authz.users.bench = 'Active';
      const kvDir = join(dir, `kv-${n}`);
      const js = new TextEncoder().encode('bundle();');
      for (const b of snapshot.bundles) b.hash = sha256(js);
      await publish(filesTarget(kvDir), snapshot, new Map([[sha256(js), js]]));
      if (n === 10000) {
        const text = JSON.stringify(snapshot);
        result.snapshot_bytes = { stored: Buffer.byteLength(text), transferred_gzip: gzipSync(text).length };
        result.cold_parts_ms = await loadParts(text);
      }
      const costs: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        const { base, child } = await start(kvDir);
        const first = await timed(base, '/proxy/ext-1/x');
        if (first.status !== 200) throw new Error(`cold request answered ${first.status}`);
        const warm: number[] = [];
        for (let k = 0; k < 20; k++) warm.push((await timed(base, '/proxy/ext-1/x')).ms);
        costs.push(first.ms - median(warm));
        child.kill('SIGTERM');
      }
      result.cold_start_ms[String(n)] = +median(costs).toFixed(1);
      if (n === 10000) {
        const p = result.cold_parts_ms;
        p.rest = +(result.cold_start_ms['10000']! - p.hash - p.parse - p.route_table).toFixed(1);
      }
      log(`  cold start at ${String(n).padStart(5)} routes${n === 10000 ? ' + 10,000 bindings + 5,000 users' : ''}: ${result.cold_start_ms[String(n)]} ms (median of ${SAMPLES} fresh processes: first request minus a warm one)`);
    }
    const p = result.cold_parts_ms;
    log(`  of it, timed in Node's V8: SHA-256 ${p.hash} ms, decoding and JSON.parse ${p.parse} ms, route table ${p.route_table} ms; the rest (KV reads through workerd's local KV, the first request) ${p.rest} ms`);
    log(`  snapshot at 10,000 routes: ${(result.snapshot_bytes.stored / 1e6).toFixed(2)} MB stored, ${(result.snapshot_bytes.transferred_gzip / 1e6).toFixed(2)} MB gzipped in transfer`);

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
    const { base } = await start(kvDir, inspector);
    for (let i = 0; i < 8; i++) await timed(base, `/dist/big-${i}/index.js`);
    const key = new TextEncoder().encode(SECRET);
    for (let i = 0; i < 10_000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, async (_, k) => {
        const t = await new SignJWT({ username: `user${(i + k) % 5000}`, jti: String(i + k), token_type: 'access_token' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('2h').sign(key);
        await (await fetch(`${base}/proxy/ext-1/x`, { headers: { Authorization: `Bearer ${t}` } })).arrayBuffer();
      }));
    }
    result.isolate_heap_mib = await heapMiB(inspector);
    log(`  isolate heap with 10,000 routes + 10,000 bindings, the bundle cache full (32 MiB) and 10,000 cached tokens: ${result.isolate_heap_mib} MiB (budget ≤ 64)`);
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
