/**
 * Issue "Authorization at the edge" against a real API server (kts with KubeSphere's IAM CRDs): a role and a
 * binding created with the client are exported and allow the user; deleting the binding makes the same request
 * 403 after one snapshot refresh (by re-export, and by --watch); disabling the user makes the token a 401.
 */
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeSource } from '../../scripts/exporter/sources/kube';
import { watchAndExport } from '../../scripts/exporter/watch';
import { startGateway, type Gateway } from '../support/gateway';
import { apply, kubesphereCrds, remove, startKube, type Kube } from '../support/kube';
import { hs256, JWT_SECRET } from '../support/tokens';
import { startUpstream, type Upstream } from '../support/upstream';

const IAM = 'iam.kubesphere.io/v1beta1';
const REFRESH_MS = 1000;
let kube: Kube;
let up: Upstream;
let gw: Gateway;

const doc = (o: Record<string, unknown>) => JSON.stringify(o);
const route = (origin: string) => doc({
  apiVersion: 'extensions.kubesphere.io/v1alpha1', kind: 'ReverseProxy', metadata: { name: 'reports' },
  spec: { matcher: { path: '/proxy/reports/*', method: '*' }, upstream: { url: origin } }, status: { state: 'Available' },
});
const user = (name: string, state: string) => doc({ apiVersion: IAM, kind: 'User', metadata: { name }, spec: { email: `${name}@x.io` }, status: { state } });
const role = doc({ apiVersion: IAM, kind: 'GlobalRole', metadata: { name: 'reports-reader' }, rules: [{ nonResourceURLs: ['/proxy/reports/*'], verbs: ['GET'] }] });
const binding = doc({
  apiVersion: IAM, kind: 'GlobalRoleBinding', metadata: { name: 'erin-reports-reader' },
  roleRef: { apiGroup: 'iam.kubesphere.io', kind: 'GlobalRole', name: 'reports-reader' },
  subjects: [{ apiGroup: 'iam.kubesphere.io', kind: 'User', name: 'erin' }],
});

beforeAll(async () => {
  kube = await startKube();
  up = await startUpstream();
  await apply(kube.kc, kubesphereCrds());
  await apply(kube.kc, [route(up.origin), user('erin', 'Active')].join('\n---\n'));
  gw = await startGateway({ manifests: '', empty: true, vars: { JWT_SECRET, AUTH: '', SNAPSHOT_REFRESH_SECONDS: String(REFRESH_MS / 1000) } });
}, 300_000);

afterAll(async () => {
  await gw?.close();
  await up?.close();
  await kube?.stop();
});

const asErin = async () => gw.fetch('/proxy/reports/q1', { headers: { Authorization: `Bearer ${await hs256({ username: 'erin' })}` } });
/** The status the gateway answers once it has looked at KV again (at most one refresh interval, and a margin). */
async function settled(expected: number): Promise<number> {
  const until = Date.now() + 4 * REFRESH_MS + 2000;
  let status = 0;
  while (Date.now() < until) {
    status = (await asErin()).status;
    if (status === expected) return status;
    await new Promise((r) => setTimeout(r, 200));
  }
  return status;
}

describe('authorization data from a real API server', () => {
  it('without a binding the user is refused (403)', async () => {
    const summary = await gw.publishFrom(kubeSource(kube.kc));
    expect(summary.iam).toMatchObject({ users: 1, bindings: 0 });
    expect(await settled(403)).toBe(403);
  });

  it('a role and a binding created with the client allow the user after an export', async () => {
    await apply(kube.kc, [role, binding].join('\n---\n'));
    const summary = await gw.publishFrom(kubeSource(kube.kc));
    expect(summary.iam).toMatchObject({ roles: 1, bindings: 1 });
    expect(await settled(200)).toBe(200);
    expect(up.seen.at(-1)!.url).toBe('/proxy/reports/q1');
  });

  it('deleting the binding makes the same request 403 after one refresh', async () => {
    await remove(kube.kc, 'GlobalRoleBinding', 'erin-reports-reader', IAM);
    await gw.publishFrom(kubeSource(kube.kc));
    const started = Date.now();
    expect(await settled(403)).toBe(403);
    expect(Date.now() - started).toBeLessThan(REFRESH_MS + 4000);
  });

  it('--watch picks up a new binding, its deletion and a disabled user without a manual export', async () => {
    const controller = new AbortController();
    const logs: string[] = [];
    let exports = 0;
    const watching = watchAndExport({
      kc: kube.kc, debounceMs: 100, signal: controller.signal, log: (l) => logs.push(l),
      exportOnce: async () => {
        await gw.publishFrom(kubeSource(kube.kc));
        exports++;
      },
    });
    try {
      // The watch's own first export is done before anything changes: what follows is the watch's doing.
      for (let i = 0; i < 100 && exports === 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(exports).toBeGreaterThan(0);
      expect(await settled(403)).toBe(403);
      await apply(kube.kc, binding);
      expect(await settled(200)).toBe(200);
      await remove(kube.kc, 'GlobalRoleBinding', 'erin-reports-reader', IAM);
      expect(await settled(403)).toBe(403);
      await apply(kube.kc, binding);
      expect(await settled(200)).toBe(200);
      const client = k8s.KubernetesObjectApi.makeApiClient(kube.kc);
      const current = await client.read({ apiVersion: IAM, kind: 'User', metadata: { name: 'erin' } });
      await client.replace({ ...current, status: { state: 'Disabled' } } as k8s.KubernetesObject);
      expect(await settled(401)).toBe(401);
      const res = await asErin();
      expect(((await res.json()) as { message: string }).message).toContain('account is not active');
    } finally {
      controller.abort();
      await watching;
    }
    expect(logs.filter((l) => /error|failed/i.test(l))).toEqual([]);
  });
});
