/**
 * One edge for a fleet (SPEC §10) with real parts: two Kubernetes API servers (kts) as member clusters, one
 * exporter each, a host exported from a folder, and one worker. Each member's extension path answers from that
 * member's own upstream with that member's RBAC; unknown clusters and withdrawn members go to CORE_ORIGIN.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeSource } from '../../scripts/exporter/sources/kube';
import { apiService, reverseProxy, startGateway, yamlDoc, type Gateway } from '../support/gateway';
import { apply, kubesphereCrds, startKube, type Kube } from '../support/kube';
import { hs256, JWT_SECRET } from '../support/tokens';
import { standingUserinfo } from '../support/ks-core';
import { startUpstream, type Upstream } from '../support/upstream';

const IAM = 'iam.kubesphere.io/v1beta1';
const iam = (kind: string, name: string, body: Record<string, unknown>) => yamlDoc({ apiVersion: IAM, kind, metadata: { name }, ...body });
const user = (name: string) => iam('User', name, { spec: { email: `${name}@x.io` }, status: { state: 'Active' } });
const grant = (name: string, urls: string[], who: string) =>
  iam('GlobalRole', name, { rules: [{ nonResourceURLs: urls, verbs: ['GET'] }, { apiGroups: ['reports.io'], resources: ['*'], verbs: ['get', 'list'] }] })
  + iam('GlobalRoleBinding', `${who}-${name}`, { roleRef: { apiGroup: 'iam.kubesphere.io', kind: 'GlobalRole', name }, subjects: [{ apiGroup: 'iam.kubesphere.io', kind: 'User', name: who }] });
/** The same extension in every cluster: in-cluster Services, reached through CLUSTER_ORIGIN with {cluster}. */
const extension = [
  reverseProxy('app', { matcher: { path: '/proxy/app/*', method: '*' }, upstream: { service: { namespace: 'ext', name: 'app', port: 80 } } }),
  apiService('v1.reports.io', { group: 'reports.io', version: 'v1', service: { namespace: 'ext', name: 'reports', port: 80 } }),
].join('');

let members: Kube[] = [];
let up: Upstream;
let core: Upstream;
let gw: Gateway;

beforeAll(async () => {
  [up, core] = await Promise.all([startUpstream(), startUpstream()]);
  core.routes.set('/oauth/userinfo', standingUserinfo);
  const clusterOrigin = `${up.origin}/{cluster}/{name}`;
  gw = await startGateway({
    manifests: extension + user('ann') + user('bob') + iam('User', 'carl', { spec: { email: 'carl@x.io' }, status: { state: 'Disabled' } })
      + grant('app-user', ['/proxy/app/*'], 'ann') + grant('status-reader', ['/_gateway/status'], 'ann'),
    clusterOrigin,
    vars: { JWT_SECRET, AUTH: '', CORE_ORIGIN: core.origin, SNAPSHOT_REFRESH_SECONDS: '1' },
  });
  members = await Promise.all([startKube(), startKube()]);
  for (const [i, kube] of members.entries()) {
    await apply(kube.kc, kubesphereCrds());
    // ann may use the app on member1 only; bob on member2 only.
    await apply(kube.kc, extension + (i === 0 ? grant('app-user', ['/proxy/app/*'], 'ann') + grant('carl-app', ['/proxy/app/*'], 'carl') : grant('app-user', ['/proxy/app/*'], 'bob')));
    await gw.publishFrom(kubeSource(kube.kc), `member${i + 1}`);
  }
}, 300_000);

afterAll(async () => {
  await gw?.close();
  await Promise.all(members.map((k) => k.stop()));
  await Promise.all([up?.close(), core?.close()]);
});

const as = async (who: string, path: string) => gw.fetch(path, { headers: { Authorization: `Bearer ${await hs256({ username: who })}` } });
const lastUrl = () => up.seen.at(-1)!.url;

describe('members are served from their own snapshots', () => {
  it('the same extension path answers from each cluster\'s own upstream, the prefix removed', async () => {
    expect((await as('ann', '/clusters/member1/proxy/app/x')).status).toBe(200);
    expect(lastUrl()).toBe('/member1/app/proxy/app/x');
    expect((await as('bob', '/clusters/member2/proxy/app/x')).status).toBe(200);
    expect(lastUrl()).toBe('/member2/app/proxy/app/x');
    expect((await as('ann', '/proxy/app/x')).status).toBe(200);
    expect(lastUrl()).toBe('/host/app/proxy/app/x');
    // Tokens for member paths too are reviewed by the host's core (CORE_ORIGIN).
    expect(core.seen.filter((r) => r.url === '/oauth/userinfo').length).toBeGreaterThan(0);
  });

  it('the legacy /kapis/clusters/{c}/ form reaches the member\'s APIService', async () => {
    expect((await as('ann', '/kapis/clusters/member1/reports.io/v1/reports')).status).toBe(200);
    expect(lastUrl()).toBe('/member1/reports/kapis/reports.io/v1/reports');
  });

  it('a role granted on one member does not open the other', async () => {
    const refused = await as('ann', '/clusters/member2/proxy/app/x');
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toBe('forbidden: User "ann" cannot GET path "/proxy/app/x"');
    expect((await as('bob', '/clusters/member1/proxy/app/x')).status).toBe(403);
  });

  it('a user the host has disabled reaches no member either (the host authenticates before it proxies)', async () => {
    const res = await as('carl', '/clusters/member1/proxy/app/x');
    expect(res.status).toBe(401);
    expect(((await res.json()) as { message: string }).message).toContain('account is not active');
  });

  it('the host answers its unprefixed routes as before, and /clusters/host/ as its own', async () => {
    expect((await as('ann', '/clusters/host/proxy/app/y')).status).toBe(200);
    expect(lastUrl()).toBe('/host/app/proxy/app/y');
    expect((await as('bob', '/proxy/app/y')).status).toBe(403);
  });

  it('a cluster the edge has no snapshot for goes to CORE_ORIGIN unchanged', async () => {
    expect((await as('ann', '/clusters/nowhere/proxy/app/x')).status).toBe(200);
    expect(core.seen.at(-1)!.url).toBe('/clusters/nowhere/proxy/app/x');
  });

  it('the status page lists every cluster with its snapshot, age and counts, and each resource under its cluster', async () => {
    const s = (await (await as('ann', '/_gateway/status')).json()) as {
      clusters: { name: string; host: boolean; snapshot: string | null; ageSeconds: number | null; counts: Record<string, number>; resources: { name: string }[] }[];
    };
    expect(s.clusters.map((c) => c.name)).toEqual(['host', 'member1', 'member2']);
    for (const c of s.clusters) {
      expect(c.snapshot).toMatch(/^[0-9a-f]{64}$/);
      expect(c.ageSeconds).toBeGreaterThanOrEqual(0);
      expect(c.counts.reverseProxies).toBe(1);
    }
    expect(s.clusters.find((c) => c.name === 'member1')!.resources.map((r) => r.name)).toContain('app');
    expect(s.clusters.find((c) => c.host)!.name).toBe('host');
  });

  it('removing a member\'s pointer sends its traffic back to CORE_ORIGIN after one refresh', async () => {
    const kv = await gw.mf.getKVNamespace('KV');
    await kv.delete('pointer/member2');
    const until = Date.now() + 5000;
    let status = 0;
    while (Date.now() < until) {
      status = (await as('bob', '/clusters/member2/proxy/app/z')).status;
      if (core.seen.at(-1)?.url === '/clusters/member2/proxy/app/z') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(200);
    expect(core.seen.at(-1)!.url).toBe('/clusters/member2/proxy/app/z');
  });
});
