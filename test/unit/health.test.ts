/** ks-edge.io/health-check: probed by the exporter against real HTTP upstreams; unhealthy routes answer 503. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHealthCheck } from '../../worker/model/annotations';
import { runExport } from '../../scripts/exporter/run';
import { directorySource } from '../../scripts/exporter/sources/directory';
import { filesTarget } from '../../scripts/exporter/targets/files';
import { readPointer, readSnapshot } from '../../scripts/exporter/publish';
import { apiService, reverseProxy } from '../support/gateway';

let server: Server;
let origin: string;
let healthy = true;
let dir: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/healthz') res.writeHead(healthy ? 200 : 503).end();
    else if (req.url === '/slow') setTimeout(() => res.writeHead(200).end(), 2000).unref();
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = await mkdtemp(join(tmpdir(), 'ks-edge-health-'));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

async function exportNow(clusterOrigin?: string) {
  await writeFile(join(dir, 'm.yaml'), [
    reverseProxy('rp', { matcher: { path: '/proxy/p/*' }, upstream: { url: origin } }, { annotations: { 'ks-edge.io/health-check': 'path=/healthz;interval=10s;timeout=1s' } }),
    apiService('api', { group: 'g.io', version: 'v1', service: { namespace: 'ns', name: 'api', port: 80 } }, { annotations: { 'ks-edge.io/health-check': 'path=/healthz' } }),
    reverseProxy('slow', { matcher: { path: '/proxy/s/*' }, upstream: { url: origin } }, { annotations: { 'ks-edge.io/health-check': 'path=/slow;timeout=200ms' } }),
    reverseProxy('gone', { matcher: { path: '/proxy/g/*' }, upstream: { url: origin } }, { annotations: { 'ks-edge.io/health-check': 'path=/missing' } }),
  ].join(''));
  const target = filesTarget(join(dir, 'kv'));
  const summary = await runExport({ source: directorySource(dir), target, cluster: 'host', clusterOrigin: clusterOrigin ?? origin });
  const snapshot = (await readSnapshot(target, (await readPointer(target))!.snapshot))!;
  return { summary, snapshot };
}

describe('health checks', () => {
  it('healthy upstreams stay available; the shortest interval is reported for --watch', async () => {
    healthy = true;
    const { snapshot, summary } = await exportNow();
    expect(snapshot.reverseProxies.find((r) => r.name === 'rp')!.available).toBe(true);
    expect(snapshot.apiServices[0]!.available).toBe(true); // in-cluster service probed through CLUSTER_ORIGIN
    expect(summary.probeIntervalMs).toBe(10_000);
  });

  it('a 4xx answer is unhealthy too', async () => {
    healthy = true;
    const { snapshot } = await exportNow();
    expect(snapshot.reverseProxies.find((r) => r.name === 'gone')).toMatchObject({ available: false, unavailable: 'reverseProxy gone is unhealthy: health check GET /missing answered 404' });
  });

  it('a failing probe makes the route answer 503 with the reason, until it passes again', async () => {
    healthy = false;
    const { snapshot, summary } = await exportNow();
    expect(snapshot.reverseProxies.find((r) => r.name === 'rp')).toMatchObject({ available: false, unavailable: 'reverseProxy rp is unhealthy: health check GET /healthz answered 503' });
    expect(snapshot.apiServices[0]!.unavailable).toBe('apiService api is unhealthy: health check GET /healthz answered 503');
    expect(summary.resources.find((r) => r.name === 'rp')!.warnings).toContain('unhealthy: health check GET /healthz answered 503');
    healthy = true;
    expect((await exportNow()).snapshot.reverseProxies.find((r) => r.name === 'rp')!.available).toBe(true);
  });

  it('a probe that does not answer in time is unhealthy', async () => {
    const { snapshot } = await exportNow();
    expect(snapshot.reverseProxies.find((r) => r.name === 'slow')!.unavailable).toBe('reverseProxy slow is unhealthy: health check GET /slow failed: no answer within 200 ms');
  });

  it('parses its annotation and rejects malformed ones', () => {
    expect(parseHealthCheck('path=/healthz;interval=30s;timeout=5s')).toEqual({ path: '/healthz', intervalMs: 30_000, timeoutMs: 5_000 });
    expect(parseHealthCheck(' path=/h ')).toEqual({ path: '/h', intervalMs: 30_000, timeoutMs: 5_000 });
    expect(() => parseHealthCheck('interval=5s')).toThrow('needs path');
    expect(() => parseHealthCheck('path=healthz')).toThrow('must start with "/"');
    expect(() => parseHealthCheck('path=/h;every=5s')).toThrow('unknown setting "every"');
    expect(() => parseHealthCheck('path=/h;timeout=soon')).toThrow('timeout must be a duration');
  });

  it.each(['path=//169.254.169.254/latest', 'path=/\\\\evil/x', 'path=/a#b'])('refuses a path that could name another host: %s', (text) => {
    expect(() => parseHealthCheck(text)).toThrow('must be a path on the upstream');
  });
});
