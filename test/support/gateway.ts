/**
 * The gateway under test: the production bundle (dist/index.js) in workerd through Miniflare, with KV written by
 * the real exporter from manifests given as YAML. Requests are real HTTP from Node to Miniflare's socket.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { runExport, type ExportSummary } from '../../scripts/exporter/run';
import { directorySource } from '../../scripts/exporter/sources/directory';
import type { Source } from '../../scripts/exporter/sources/source';
import { kvNamespaceTarget, localTarget } from '../../scripts/exporter/targets/local';
import { compatibility } from '../../scripts/serve/workerd-config';

const KV_ID = 'ks-edge-test';

export interface Gateway {
  url: string;
  mf: Miniflare;
  dir: string;
  lastExport: ExportSummary;
  /** Re-exports new manifests into the running gateway's KV. */
  publish(manifests: string): Promise<ExportSummary>;
  /** Exports another source (a Kubernetes API server) into the running gateway's KV, as `cluster` (default host). */
  publishFrom(source: Source, cluster?: string): Promise<ExportSummary>;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

export interface GatewayOptions {
  manifests: string;
  vars?: Record<string, string>;
  clusterOrigin?: string;
  /** Skip the export: start with empty KV. */
  empty?: boolean;
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const dir = await mkdtemp(join(tmpdir(), 'ks-edge-test-'));
  const manifestDir = join(dir, 'manifests');
  await mkdir(manifestDir);
  const persist = join(dir, 'state');
  let lastExport = undefined as unknown as ExportSummary;
  if (!opts.empty) {
    await writeFile(join(manifestDir, 'resources.yaml'), opts.manifests);
    const target = await localTarget({ persistRoot: persist, namespaceId: KV_ID });
    try {
      lastExport = await runExport({ source: directorySource(manifestDir), target, cluster: 'host', clusterOrigin: opts.clusterOrigin });
    } finally {
      await target.close();
    }
  }
  const mf = new Miniflare({
    modules: true,
    scriptPath: 'dist/index.js',
    ...compatibility(),
    kvNamespaces: { KV: KV_ID },
    kvPersist: join(persist, 'kv'),
    durableObjects: {
      RATE_LIMITER: { className: 'RateLimiter', useSQLite: true },
      CIRCUIT_BREAKER: { className: 'CircuitBreaker', useSQLite: true },
    },
    durableObjectsPersist: join(persist, 'do'),
    bindings: { AUTH: 'none', SNAPSHOT_REFRESH_SECONDS: '3600', ...(opts.clusterOrigin ? { CLUSTER_ORIGIN: opts.clusterOrigin } : {}), ...opts.vars },
    host: '127.0.0.1',
    port: 0,
    // The worker logs a JSON line per request (tested on plain workerd in tracing.test.ts): kept out of the test
    // output; what the runtime says on stderr (errors) still shows.
    handleRuntimeStdio: (stdout, stderr) => {
      stdout.resume();
      stderr.on('data', (d: Buffer) => {
        const text = String(d).split('\n').filter((l) => l && !l.includes('"ks-edge request"')).join('\n');
        if (text) process.stderr.write(`${text}\n`);
      });
    },
  });
  const url = (await mf.ready).toString().replace(/\/$/, '');
  const gateway: Gateway = {
    url, mf, dir, lastExport,
    async publish(manifests) {
      await writeFile(join(manifestDir, 'resources.yaml'), manifests);
      const target = kvNamespaceTarget(await mf.getKVNamespace('KV') as never, 'test KV');
      gateway.lastExport = await runExport({ source: directorySource(manifestDir), target, cluster: 'host', clusterOrigin: opts.clusterOrigin });
      return gateway.lastExport;
    },
    async publishFrom(source, cluster = 'host') {
      const target = kvNamespaceTarget(await mf.getKVNamespace('KV') as never, 'test KV');
      gateway.lastExport = await runExport({ source, target, cluster, clusterOrigin: opts.clusterOrigin });
      return gateway.lastExport;
    },
    fetch: (path, init) => fetch(url + path, { redirect: 'manual', ...init }),
    async close() {
      await mf.dispose();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return gateway;
}

/** YAML for a ReverseProxy; `extra` is merged into the resource (metadata, spec fields). */
export function reverseProxy(name: string, spec: Record<string, unknown>, meta: Record<string, unknown> = {}, state = 'Available'): string {
  return yamlDoc({ apiVersion: 'extensions.kubesphere.io/v1alpha1', kind: 'ReverseProxy', metadata: { name, ...meta }, spec, status: { state } });
}

export function apiService(name: string, spec: Record<string, unknown>, meta: Record<string, unknown> = {}, state = 'Available'): string {
  return yamlDoc({ apiVersion: 'extensions.kubesphere.io/v1alpha1', kind: 'APIService', metadata: { name, ...meta }, spec, status: { state } });
}

export function jsBundle(name: string, spec: Record<string, unknown>, meta: Record<string, unknown> = {}, state = 'Available'): string {
  return yamlDoc({ apiVersion: 'extensions.kubesphere.io/v1alpha1', kind: 'JSBundle', metadata: { name, ...meta }, spec, status: { state } });
}

/** JSON is YAML: one document per resource. */
export const yamlDoc = (o: unknown) => `---\n${JSON.stringify(o)}\n`;
