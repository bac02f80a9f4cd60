/**
 * `npm run bench:fleet` (also part of `npm run bench`): one edge for 100 clusters of 1,000 resources each, on
 * plain workerd.
 *
 * - the first request to a cluster this isolate has not loaded yet (its pointer, its snapshot, parse, table), and
 *   the first of all member requests (which also lists the fleet's pointers);
 * - the isolate's V8 heap (workerd's inspector, Runtime.getHeapUsage) with the host alone and with 10 members loaded;
 * - a warm member request against a warm host request (same route, same upstream).
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publish, readPointer, readSnapshot } from '../exporter/publish';
import { runExport } from '../exporter/run';
import { directorySource } from '../exporter/sources/directory';
import { filesTarget } from '../exporter/targets/files';
import { buildBundle } from '../serve/bundle';
import { compatibility, workerdBinary, writeWorkerdConfig } from '../serve/workerd-config';
import { freePort, healthy, heapMiB } from './workerd-probe';

export const FLEET = { clusters: 100, resources: 1000, loaded: 10 } as const;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export interface FleetBench {
  first_member_request_ms: number; first_request_to_unloaded_cluster_ms: number; warm_member_ms: number; warm_host_ms: number;
  heap_host_only_mib: number; heap_with_10_members_mib: number; snapshot_bytes_per_cluster: number;
}


export async function fleetBench(log: (l: string) => void = console.log): Promise<FleetBench> {
  const dir = await mkdtemp(join(tmpdir(), 'ks-edge-fleet-bench-'));
  const up = createServer((_q, res) => res.end('ok'));
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(up.address() as AddressInfo).port}`;
  let child: ReturnType<typeof spawn> | undefined;
  try {
    const bundle = buildBundle();
    await mkdir(join(dir, 'm'));
    const docs = Array.from({ length: FLEET.resources }, (_, i) => JSON.stringify({
      apiVersion: 'extensions.kubesphere.io/v1alpha1', kind: 'ReverseProxy', metadata: { name: `rp-${i}` }, status: { state: 'Available' },
      spec: { matcher: { path: `/proxy/ext-${i}/*`, method: '*' }, upstream: { url: origin }, directives: { stripPathPrefix: `/proxy/ext-${i}` } },
    }));
    await writeFile(join(dir, 'm', 'r.yaml'), docs.map((d) => `---\n${d}\n`).join(''));
    const kv = filesTarget(join(dir, 'kv'));
    await runExport({ source: directorySource(join(dir, 'm')), target: kv, cluster: 'host', clusterOrigin: undefined });
    const host = (await readSnapshot(kv, (await readPointer(kv, 'host'))!.snapshot))!;
    for (let i = 0; i < FLEET.clusters; i++) await publish(kv, { ...host, cluster: `c${String(i).padStart(3, '0')}` }, new Map());
    const snapshotBytes = JSON.stringify(host).length;
    log(`fleet: ${FLEET.clusters} clusters of ${FLEET.resources} resources (${(snapshotBytes / 1024).toFixed(0)} KiB of snapshot each) + the host`);

    const port = await freePort();
    const inspector = `127.0.0.1:${await freePort()}`;
    await mkdir(join(dir, 'do'));
    const config = join(dir, 'config.capnp');
    await writeWorkerdConfig(config, { bundle, kvDir: join(dir, 'kv'), port, ...compatibility(), doDir: join(dir, 'do'), vars: { AUTH: 'none', SNAPSHOT_REFRESH_SECONDS: '3600' } });
    child = spawn(workerdBinary(), ['serve', config, `--inspector-addr=${inspector}`], { stdio: 'ignore' });
    const base = `http://127.0.0.1:${port}`;
    await healthy(base);
    const timed = async (path: string) => {
      const t0 = performance.now();
      const res = await fetch(base + path);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
      return performance.now() - t0;
    };
    for (let i = 0; i < 50; i++) await timed('/proxy/ext-5/x');
    const heapHost = await heapMiB(inspector);
    const firsts: number[] = [];
    let firstOfAll = 0;
    for (let i = 0; i < FLEET.loaded; i++) {
      const name = `c${String(i * 7).padStart(3, '0')}`;
      const ms = await timed(`/clusters/${name}/proxy/ext-5/x`);
      if (i === 0) firstOfAll = ms;
      else firsts.push(ms);
    }
    const heapMembers = await heapMiB(inspector);
    const warmHost: number[] = [];
    const warmMember: number[] = [];
    for (let i = 0; i < 300; i++) {
      warmHost.push(await timed('/proxy/ext-5/x'));
      warmMember.push(await timed('/clusters/c007/proxy/ext-5/x'));
    }
    const result: FleetBench = {
      first_member_request_ms: +firstOfAll.toFixed(1),
      first_request_to_unloaded_cluster_ms: +median(firsts).toFixed(1),
      warm_member_ms: +median(warmMember).toFixed(3),
      warm_host_ms: +median(warmHost).toFixed(3),
      heap_host_only_mib: heapHost,
      heap_with_10_members_mib: heapMembers,
      snapshot_bytes_per_cluster: snapshotBytes,
    };
    log(`  first request to a cluster not loaded yet: ${result.first_request_to_unloaded_cluster_ms} ms median (the very first member request, which also lists the fleet: ${result.first_member_request_ms} ms)`);
    log(`  isolate heap: ${result.heap_host_only_mib} MiB with the host alone, ${result.heap_with_10_members_mib} MiB with ${FLEET.loaded} members loaded`);
    log(`  warm request: member ${result.warm_member_ms} ms, host ${result.warm_host_ms} ms (median, sequential, client-observed)`);
    return result;
  } finally {
    child?.kill('SIGTERM');
    up.closeAllConnections();
    up.close();
    await new Promise((r) => setTimeout(r, 200));
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await fleetBench();
