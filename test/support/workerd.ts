/**
 * The production bundle on plain workerd, as `npm run serve` runs it: exporter → files → read-only KV service,
 * loopback-only outbound network. For streaming, WebSocket and memory tests, which wrangler dev would distort.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runExport, type ExportSummary } from '../../scripts/exporter/run';
import { directorySource } from '../../scripts/exporter/sources/directory';
import { filesTarget } from '../../scripts/exporter/targets/files';
import { compatibility, workerdBinary, writeWorkerdConfig } from '../../scripts/serve/workerd-config';

export interface Served {
  url: string;
  port: number;
  /** The other isolates' URLs (ServeOptions.isolates). */
  fronts: string[];
  process: ChildProcess;
  lastExport: ExportSummary;
  /** Resident memory of the workerd process, in bytes. */
  rss(): Promise<number>;
  /** What workerd printed (the worker's console lines) so far. */
  output(): string;
  close(): Promise<void>;
}

export const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const port = (s.address() as { port: number }).port;
    s.close(() => resolve(port));
  });
});

export interface ServeOptions {
  manifests: string;
  vars?: Record<string, string>;
  clusterOrigin?: string;
  /** More isolates of the same bundle sharing the Durable Objects: their URLs are in `fronts`. */
  isolates?: number;
}

export async function serveOnWorkerd(opts: ServeOptions): Promise<Served> {
  const dir = await mkdtemp(join(tmpdir(), 'ks-edge-workerd-'));
  await mkdir(join(dir, 'manifests'));
  await writeFile(join(dir, 'manifests', 'resources.yaml'), opts.manifests);
  const kvDir = join(dir, 'kv');
  const lastExport = await runExport({ source: directorySource(join(dir, 'manifests')), target: filesTarget(kvDir), cluster: 'host', clusterOrigin: opts.clusterOrigin });
  const port = await freePort();
  const fronts: number[] = [];
  while (fronts.length < (opts.isolates ?? 1) - 1) {
    const p = await freePort();
    if (p !== port && !fronts.includes(p)) fronts.push(p);
  }
  const config = join(dir, 'config.capnp');
  await mkdir(join(dir, 'do'));
  await writeWorkerdConfig(config, {
    bundle: 'dist/index.js', kvDir, port, ...compatibility(), doDir: join(dir, 'do'), fronts,
    vars: { AUTH: 'none', ...(opts.clusterOrigin ? { CLUSTER_ORIGIN: opts.clusterOrigin } : {}), ...opts.vars },
  });
  const child = spawn(workerdBinary(), ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.on('data', (d) => (stdout += d));
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 20_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/_gateway/healthz`)).ok) break;
    } catch { /* starting */ }
    if (child.exitCode !== null || Date.now() > until) throw new Error(`workerd did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url, port, fronts: fronts.map((p) => `http://127.0.0.1:${p}`), process: child, lastExport,
    output: () => stdout + stderr,
    async rss() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
    },
    async close() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
