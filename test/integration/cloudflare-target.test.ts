/** The exporter's Cloudflare target against a local server speaking the KV REST API's wire format. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KEEP_SNAPSHOTS, readPointer } from '../../scripts/exporter/publish';
import { rollback } from '../../scripts/exporter/rollback';
import { runExport } from '../../scripts/exporter/run';
import { directorySource } from '../../scripts/exporter/sources/directory';
import { batches, cloudflareTarget, type CloudflareConfig } from '../../scripts/exporter/targets/cloudflare';
import { jsBundle } from '../support/gateway';
import { startFakeKv, type FakeKv } from '../support/cloudflare-kv';

const ACCOUNT = 'acc0123456789';
const NAMESPACE = 'ns0123456789';
const TOKEN = 'right-token';
let kv: FakeKv;
let dir: string;
let config: CloudflareConfig;

beforeEach(async () => {
  kv = await startFakeKv({ account: ACCOUNT, namespace: NAMESPACE, token: TOKEN });
  dir = await mkdtemp(join(tmpdir(), 'ks-edge-cf-'));
  config = { accountId: ACCOUNT, namespaceId: NAMESPACE, apiToken: TOKEN, apiBase: kv.base };
});
afterEach(async () => {
  await kv.close();
  await rm(dir, { recursive: true, force: true });
});

const manifests = (v: string) => jsBundle('b', { raw: Buffer.from(`b(${v});`).toString('base64') }, { labels: { 'kubesphere.io/extension-ref': 'b' } });
async function exportOnce(yaml: string, c = config) {
  await writeFile(join(dir, 'm.yaml'), yaml);
  return runExport({ source: directorySource(dir), target: cloudflareTarget(c), cluster: 'host', clusterOrigin: undefined });
}
/** The CLI in a child process, asynchronously: the fake API lives in this process and must keep answering. */
const cli = (args: string[], env: Record<string, string>) => new Promise<{ status: number | null; stderr: string }>((resolve) => {
  execFile('npx', ['tsx', 'scripts/export.ts', ...args], { env: { ...process.env, ...env } }, (err, _stdout, stderr) =>
    resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr }));
});
const writes = () => kv.log.filter((r) => r.method === 'PUT').map((r) => r.keys!.map((k) => k.split('/')[0]).join(','));

describe('Cloudflare KV target', () => {
  it('bulk-writes bundles, then the snapshot, then the pointer; a re-export writes nothing', async () => {
    const first = await exportOnce(manifests('1'));
    expect(writes()).toEqual(['bundle', 'snapshot-body,snapshot', 'pointer']);
    expect(kv.store.get(`bundle/${first.written[0]!.split('/')[1]}`)!.toString()).toBe('b(1);');
    kv.log.length = 0;
    const second = await exportOnce(manifests('1'));
    expect(second.written).toEqual([]);
    expect(kv.log.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('binary values travel as base64 and come back byte for byte', async () => {
    const bytes = Buffer.from([0, 255, 1, 254, 10, 13]);
    await cloudflareTarget(config).putMany([{ key: `bundle/${'a'.repeat(64)}`, value: bytes }]);
    expect(kv.store.get(`bundle/${'a'.repeat(64)}`)).toEqual(bytes);
  });

  it('lists keys across cursor pages; bundles no snapshot references yet are not removed (another exporter may be mid-publication)', async () => {
    for (let i = 0; i < 1500; i++) kv.store.set(`bundle/${i.toString(16).padStart(64, '0')}`, Buffer.from('stale'));
    const s = await exportOnce(manifests('1'));
    expect(kv.log.filter((r) => r.path.endsWith('/keys')).length).toBeGreaterThanOrEqual(4); // two listings of 2 pages
    expect(s.deleted).toEqual([]);
    expect([...kv.store.keys()].filter((k) => k.startsWith('bundle/'))).toHaveLength(1501);
  });

  it('removes a dropped snapshot and its own bundle through bulk/delete', async () => {
    for (let v = 0; v < KEEP_SNAPSHOTS; v++) await exportOnce(manifests(`k${v}`));
    const last = await exportOnce(manifests('k-last'));
    expect(last.deleted.filter((k) => k.startsWith('snapshot/'))).toHaveLength(1);
    expect(last.deleted.filter((k) => k.startsWith('bundle/'))).toHaveLength(1);
    expect(kv.log.some((r) => r.path.endsWith('/bulk/delete'))).toBe(true);
    for (const k of last.deleted) expect(kv.store.has(k), k).toBe(false);
  });

  it('retries 429 with Retry-After', async () => {
    kv.throttleNext(2);
    const started = Date.now();
    await exportOnce(manifests('1'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect((await readPointer(cloudflareTarget(config)))).toBeDefined();
  });

  it('a run that fails half-way leaves the previous snapshot in force', async () => {
    const first = await exportOnce(manifests('1'));
    kv.failBulkWritesFrom(2); // the bundle write succeeds, the snapshot write fails, and so do its retries
    await expect(exportOnce(manifests('2'), { ...config, attempts: 2 })).rejects.toThrow(/HTTP 500 \(10001 internal error\)/);
    expect((await readPointer(cloudflareTarget(config)))!.snapshot).toBe(first.snapshot);
  });

  it('writes one key at most once a second', async () => {
    const target = cloudflareTarget(config);
    await target.putMany([{ key: 'current', value: '1' }]);
    await target.putMany([{ key: 'current', value: '2' }]);
    const puts = kv.log.filter((r) => r.method === 'PUT');
    expect(puts[1]!.at - puts[0]!.at).toBeGreaterThanOrEqual(990);
  });

  it('rollback moves the pointer to the previous snapshot', async () => {
    const a = await exportOnce(manifests('1'));
    const b = await exportOnce(manifests('2'));
    expect(await rollback(cloudflareTarget(config))).toEqual({ snapshot: a.snapshot, from: b.snapshot });
    expect((await readPointer(cloudflareTarget(config)))!.snapshot).toBe(a.snapshot);
  });

  it('a wrong token is a clear message and exit 1, nothing written', async () => {
    await writeFile(join(dir, 'm.yaml'), manifests('1'));
    const run = await cli(['--from', `dir:${dir}`, '--to', 'cloudflare'], {
      CLOUDFLARE_ACCOUNT_ID: ACCOUNT, KV_NAMESPACE_ID: NAMESPACE, CLOUDFLARE_API_TOKEN: 'wrong', CLOUDFLARE_API_BASE_URL: kv.base,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('HTTP 403 (10000 Authentication error) — check CLOUDFLARE_API_TOKEN');
    expect(kv.store.size).toBe(0);
  });

  it('names missing settings', async () => {
    const run = await cli(['--from', 'dir:config/examples', '--to', 'cloudflare'], { CLOUDFLARE_ACCOUNT_ID: '', KV_NAMESPACE_ID: '', CLOUDFLARE_API_TOKEN: '' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('needs CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_API_TOKEN, KV_NAMESPACE_ID');
  });

  it('splits bulk writes at 10,000 pairs and under 100 MB', () => {
    const many = Array.from({ length: 25_000 }, (_, i) => ({ key: `k${i}`, value: 'v' }));
    expect(batches(many).map((b) => b.length)).toEqual([10_000, 10_000, 5_000]);
    const big = Array.from({ length: 5 }, (_, i) => ({ key: `b${i}`, value: new Uint8Array(25 * 1024 * 1024) }));
    expect(batches(big).map((b) => b.length)).toEqual([2, 2, 1]); // 25 MiB → ~33 MiB of base64 each
  });
});
