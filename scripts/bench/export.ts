/**
 * `npm run bench:export`: 10,000 extension resources (1,000 of them JSBundles reading ConfigMaps) in a real API
 * server (kts), exported by the CLI to a local server speaking Cloudflare's KV REST API; then exported again
 * unchanged. Prints wall time, the exporter's peak RSS, API requests and KV writes for both runs.
 * Budget (issue #5): under 30 s and 512 MiB; the unchanged run writes nothing.
 */
import { execFile } from 'node:child_process';
import * as k8s from '@kubernetes/client-node';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withRetry } from '../exporter/kube-client';
import { apply, startKube } from '../../test/support/kube';
import { startFakeKv } from '../../test/support/cloudflare-kv';

const TOTAL = Number(process.env.BENCH_RESOURCES ?? 10_000);
const CONFIGMAP_BUNDLES = Math.round(TOTAL / 10);
const json = process.argv.includes('--json');
const say = (line: string) => { if (!json) console.log(line); };

async function createAll(kc: k8s.KubeConfig) {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'bench' } } }).catch(() => undefined);
  const jobs: (() => Promise<unknown>)[] = [];
  const cr = (plural: string, body: Record<string, unknown>) => () =>
    withRetry(`create ${plural}`, () => custom.createClusterCustomObject({ group: 'extensions.kubesphere.io', version: 'v1alpha1', plural, body }));
  for (let i = 0; i < CONFIGMAP_BUNDLES; i++) {
    jobs.push(() => withRetry('create cm', () => core.createNamespacedConfigMap({ namespace: 'bench', body: { metadata: { name: `bundle-${i}` }, data: { 'index.js': `console.log(${i});`.repeat(20) } } })));
    jobs.push(cr('jsbundles', { apiVersion: 'extensions.kubesphere.io/v1alpha1', kind: 'JSBundle', metadata: { name: `cm-bundle-${i}`, labels: { 'kubesphere.io/extension-ref': `ext-${i}` } }, spec: { rawFrom: { configMapKeyRef: { name: `bundle-${i}`, key: 'index.js', namespace: 'bench' } } }, status: { state: 'Available' } }));
  }
  const rest = TOTAL - CONFIGMAP_BUNDLES;
  for (let i = 0; i < rest; i++) {
    if (i % 2 === 0) {
      jobs.push(cr('reverseproxies', { apiVersion: 'extensions.kubesphere.io/v1alpha1', kind: 'ReverseProxy', metadata: { name: `rp-${i}` }, spec: {
        matcher: { path: `/proxy/ext-${i}/*`, method: i % 4 ? 'GET' : '*' }, upstream: { service: { namespace: 'bench', name: `svc-${i}`, port: 80 } },
        directives: { stripPathPrefix: `/proxy/ext-${i}`, headerUp: ['-Authorization', `X-Ext ext-${i}`], headerDown: ['X-Served-By edge'] } }, status: { state: 'Available' } }));
    } else {
      jobs.push(cr('apiservices', { apiVersion: 'extensions.kubesphere.io/v1alpha1', kind: 'APIService', metadata: { name: `v1.ext-${i}.io` }, spec: { group: `ext-${i}.io`, version: 'v1', service: { namespace: 'bench', name: `api-${i}`, port: 443 } }, status: { state: 'Available' } }));
    }
  }
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < jobs.length) await jobs[next++]!();
  }));
}

function exportOnce(kubeconfig: string, env: Record<string, string>): Promise<Record<string, unknown> & { wallMs: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile('node', ['--import', 'tsx', 'scripts/export.ts', '--from', 'kube', '--kubeconfig', kubeconfig, '--to', 'cloudflare', '--output', 'json'],
      { env: { ...process.env, ...env }, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) return reject(new Error(`export failed: ${stderr}`));
        // Inside a callback a throw would escape the promise and skip the clean-up below: reject instead.
        try {
          resolve({ ...(JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>), wallMs: Math.round(performance.now() - started) });
        } catch (e) {
          reject(new Error(`the exporter's JSON output did not parse: ${(e as Error).message}`));
        }
      });
  });
}

const kube = await startKube();
const kv = await startFakeKv({ account: 'bench', namespace: 'bench', token: 'bench' });
try {
  say(`creating ${TOTAL} resources (${CONFIGMAP_BUNDLES} JSBundles from ConfigMaps) in kts…`);
  await apply(kube.kc, readdirSync('config/crds').map((f) => readFileSync(join('config/crds', f), 'utf8')).join('\n---\n'));
  const t0 = performance.now();
  await createAll(kube.kc);
  say(`  created in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const env = { CLOUDFLARE_ACCOUNT_ID: 'bench', KV_NAMESPACE_ID: 'bench', CLOUDFLARE_API_TOKEN: 'bench', CLOUDFLARE_API_BASE_URL: kv.base };
  const runs = [];
  for (const label of ['first export', 'unchanged re-export']) {
    kv.log.length = 0;
    const r = await exportOnce(kube.kubeconfig, env);
    const puts = kv.log.filter((l) => l.method === 'PUT').reduce((n, l) => n + (l.keys?.length ?? 0), 0);
    const reads = kv.log.filter((l) => l.method === 'GET').length;
    const row = { label, resources: (r.resources as unknown[]).length, wallS: r.wallMs / 1000, exportS: (r.ms as number) / 1000, maxRssMiB: Math.round((r.maxRssBytes as number) / 1048576), kvReads: reads, kvKeysWritten: puts, kvKeysDeleted: (r.deleted as unknown[]).length, bundleMiB: +((r.bundleBytes as number) / 1048576).toFixed(2) };
    runs.push(row);
    say(`${label}: ${row.resources} resources in ${row.exportS.toFixed(2)} s (process ${row.wallS.toFixed(2)} s), peak RSS ${row.maxRssMiB} MiB, KV: ${row.kvReads} reads, ${row.kvKeysWritten} keys written, ${row.kvKeysDeleted} deleted`);
  }
  const ok = runs[0]!.wallS < 30 && runs.every((r) => r.maxRssMiB < 512) && runs[1]!.kvKeysWritten === 0;
  say(`budget (under 30 s, under 512 MiB, unchanged re-export writes nothing): ${ok ? 'met' : 'NOT met'}`);
  if (json) console.log(JSON.stringify({ runs, budgetMet: ok }));
} finally {
  await kv.close();
  await kube.stop();
}
