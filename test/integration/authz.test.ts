/**
 * SPEC §4 authorization at the edge beyond the golden set: users the cluster deleted or disabled, AUTHZ modes,
 * public routes, the status page, roles whose Rego is not evaluated, bad IAM input — against the worker in
 * workerd with routes and IAM objects exported by the real exporter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiService, reverseProxy, startGateway, yamlDoc, type Gateway } from '../support/gateway';
import { hs256, JWT_SECRET } from '../support/tokens';
import { startUpstream, type Upstream } from '../support/upstream';

const iam = (kind: string, name: string, body: Record<string, unknown>, meta: Record<string, unknown> = {}) =>
  yamlDoc({ apiVersion: 'iam.kubesphere.io/v1beta1', kind, metadata: { name, ...meta }, ...body });
const user = (name: string, state = 'Active') => iam('User', name, { spec: { email: `${name}@x.io` }, status: { state } });
const globalRole = (name: string, rules: unknown[], annotations?: Record<string, string>) => iam('GlobalRole', name, { rules }, annotations ? { annotations } : {});
const binding = (kind: string, name: string, roleKind: string, role: string, subjects: unknown[], meta: Record<string, unknown> = {}) =>
  iam(kind, name, { roleRef: { apiGroup: 'iam.kubesphere.io', kind: roleKind, name: role }, subjects }, meta);
const toUser = (name: string) => [{ apiGroup: 'iam.kubesphere.io', kind: 'User', name }];

let up: Upstream;
let gw: Gateway;
const routes = (origin: string) => [
  apiService('g', { group: 'g.io', version: 'v1', url: origin }),
  reverseProxy('app', { matcher: { path: '/proxy/app/*' }, upstream: { url: origin } }),
  reverseProxy('open', { matcher: { path: '/proxy/open/*' }, upstream: { url: origin } }, { annotations: { 'ks-edge.io/allow-anonymous': 'true' } }),
  reverseProxy('internal', { matcher: { path: '/proxy/*' }, upstream: { url: origin } }),
].join('');
const site = [
  user('ann'), user('bob'), user('off', 'Disabled'), user('limited', 'AuthLimitExceeded'), user('ops'),
  globalRole('app-user', [{ nonResourceURLs: ['/proxy/app/*'], verbs: ['GET'] }, { apiGroups: ['g.io'], resources: ['things'], verbs: ['get', 'list'] }]),
  globalRole('gateway-ops', [{ nonResourceURLs: ['/_gateway/status', '/_gateway/explain', '/_gateway/'], verbs: ['GET'] }]),
  // A policy the edge does not evaluate (a helper rule): the role grants only its rules, with a warning.
  globalRole('rego-only', [], { 'iam.kubesphere.io/rego-override': 'package authz\ndefault allow = false\nis_bob { input.User.Name == "bob" }\nallow { is_bob }' }),
  binding('GlobalRoleBinding', 'ann-app', 'GlobalRole', 'app-user', toUser('ann')),
  binding('GlobalRoleBinding', 'off-app', 'GlobalRole', 'app-user', toUser('off')),
  binding('GlobalRoleBinding', 'limited-app', 'GlobalRole', 'app-user', toUser('limited')),
  binding('GlobalRoleBinding', 'bob-rego', 'GlobalRole', 'rego-only', toUser('bob')),
  binding('GlobalRoleBinding', 'ops-status', 'GlobalRole', 'gateway-ops', toUser('ops')),
  binding('GlobalRoleBinding', 'ann-ghost', 'GlobalRole', 'no-such-role', toUser('ann')),
  iam('GlobalRole', 'broken', { rules: 'everything' }),
].join('');

beforeAll(async () => {
  up = await startUpstream();
  gw = await startGateway({ manifests: routes(up.origin) + site, vars: { JWT_SECRET, AUTH: '' } });
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
});

const as = async (name: string | undefined, path: string, method = 'GET', g = gw) =>
  g.fetch(path, { method, headers: name ? { Authorization: `Bearer ${await hs256({ username: name })}` } : {} });

describe('KubeSphere authorization is on by default with authentication', () => {
  it('allows what a bound role grants and refuses the rest with 403', async () => {
    expect((await as('ann', '/proxy/app/x')).status).toBe(200);
    expect((await as('ann', '/kapis/g.io/v1/things')).status).toBe(200);
    const post = await as('ann', '/proxy/app/x', 'POST');
    expect(post.status).toBe(403);
    expect(await post.json()).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403, message: 'forbidden: User "ann" cannot POST path "/proxy/app/x"' });
    expect((await as('ann', '/kapis/g.io/v1/things', 'DELETE')).status).toBe(403);
  });

  it('routing and authorization read the same path: an encoded letter cannot pick another route than it is authorized for', async () => {
    // Decoded, /proxy/%6Fpen/x is /proxy/open/x: KubeSphere routes and authorizes it as that, and so does the edge.
    const res = await as(undefined, '/proxy/%6Fpen/x');
    expect(res.status).toBe(200);
    expect(up.seen.at(-1)!.url).toBe('/proxy/%6Fpen/x');
    expect((await as(undefined, '/proxy/intern%61l/x')).status).toBe(403);
  });

  it('refuses anonymous callers with 403, and public routes need neither token nor role', async () => {
    expect((await as(undefined, '/proxy/app/x')).status).toBe(403);
    expect((await as(undefined, '/proxy/open/x')).status).toBe(200);
    expect((await as('guest-unknown', '/proxy/open/x')).status).toBe(401);
  });

  it('a token of a deleted or disabled user is a 401; AuthLimitExceeded still authenticates, as in KubeSphere', async () => {
    const gone = await as('nobody', '/proxy/app/x');
    expect(gone.status).toBe(401);
    expect(((await gone.json()) as { message: string }).message).toContain('User.iam.kubesphere.io "nobody" not found');
    const off = await as('off', '/proxy/app/x');
    expect(off.status).toBe(401);
    expect(((await off.json()) as { message: string }).message).toContain('account is not active');
    expect((await as('limited', '/proxy/app/x')).status).toBe(200);
  });

  it('service-account tokens are told by their sub, as KubeSphere tells them: exempt from the User check, and groupless', async () => {
    const sa = 'kubesphere:serviceaccount:ns1:robot';
    const bySub = await gw.fetch('/proxy/app/x', { headers: { Authorization: `Bearer ${await hs256({ username: sa, sub: sa })}` } });
    expect(bySub.status).toBe(403); // authenticated (no User needed), then refused by RBAC: no binding
    const byNameOnly = await gw.fetch('/proxy/app/x', { headers: { Authorization: `Bearer ${await hs256({ username: sa, sub: 'someone' })}` } });
    expect(byNameOnly.status).toBe(401); // an ordinary user named like one: the User must exist
  });

  it('a role whose Rego is not evaluated grants only its rules, and the exporter says so naming it', async () => {
    expect((await as('bob', '/proxy/app/x')).status).toBe(403);
    const report = gw.lastExport.resources.find((r) => r.kind === 'GlobalRole' && r.name === 'rego-only');
    expect(report?.warnings.join()).toContain('policy is not evaluated at the edge');
  });

  it('bad IAM input is reported naming the object and grants nothing', () => {
    const broken = gw.lastExport.resources.find((r) => r.name === 'broken');
    expect(broken).toMatchObject({ kind: 'GlobalRole' });
    expect(broken!.problems.join()).toContain('grants nothing');
    const ghost = gw.lastExport.resources.find((r) => r.name === 'ann-ghost');
    expect(ghost!.warnings.join()).toContain('"no-such-role" does not exist');
  });

  it('the status page is authorized as GET /_gateway/status', async () => {
    expect((await as('ann', '/_gateway/status')).status).toBe(403);
    expect((await as(undefined, '/_gateway/status')).status).toBe(403);
    const ok = await as('ops', '/_gateway/status');
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { authorization: { published: boolean } }).authorization.published).toBe(true);
  });

  it('the HTML status page is authorized as GET /_gateway/', async () => {
    expect((await as('ann', '/_gateway/')).status).toBe(403);
    expect((await as(undefined, '/_gateway/')).status).toBe(403);
    const ok = await as('ops', '/_gateway/');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toContain('text/html');
  });
});

describe('AUTHZ', () => {
  it('AUTHZ=none: authentication only, anonymous callers get 401', async () => {
    const none = await startGateway({ manifests: routes(up.origin) + site, vars: { JWT_SECRET, AUTH: '', AUTHZ: 'none' } });
    try {
      expect((await as('ann', '/proxy/app/x', 'POST', none)).status).toBe(200);
      expect((await as(undefined, '/proxy/app/x', 'GET', none)).status).toBe(401);
    } finally {
      await none.close();
    }
  });

  it('an unknown AUTHZ value fails closed with 500', async () => {
    const odd = await startGateway({ manifests: routes(up.origin), vars: { JWT_SECRET, AUTH: '', AUTHZ: 'rbac' } });
    try {
      const res = await as('ann', '/proxy/open/x', 'GET', odd);
      expect(res.status).toBe(500);
      expect(((await res.json()) as { message: string }).message).toContain('AUTHZ');
    } finally {
      await odd.close();
    }
  });

  it('without published IAM data everything but public routes is refused, and the 403 says why', async () => {
    const bare = await startGateway({ manifests: routes(up.origin), vars: { JWT_SECRET, AUTH: '' } });
    try {
      const res = await as('ann', '/proxy/app/x', 'GET', bare);
      expect(res.status).toBe(403);
      expect(((await res.json()) as { message: string }).message).toContain('no authorization data');
      expect((await as(undefined, '/proxy/open/x', 'GET', bare)).status).toBe(200);
    } finally {
      await bare.close();
    }
  });
});

describe('the route explainer tells what a real request gets, and sends nothing', () => {
  const explain = async (query: string) => {
    const res = await as('ops', `/_gateway/explain?${query}`);
    expect(res.status).toBe(200);
    return (await res.json()) as { kind: string; name?: string; authorization?: string; answer: string; upstream?: string | null };
  };
  const messageOf = async (res: Response) => ((await res.json()) as { message: string }).message;

  it('gives the same decisions and messages as the requests themselves, without reaching the upstream', async () => {
    const sent = up.seen.length;
    const allowed = await explain('path=/proxy/app/x&user=ann');
    expect(allowed).toMatchObject({ kind: 'ReverseProxy', name: 'app', answer: 'proxied' });
    expect(allowed.authorization).toMatch(/^allowed: allowed by GlobalRoleBinding "ann-app"/);
    expect(allowed.upstream).toBe(`GET ${up.origin}/proxy/app/x`);

    const refused = await explain('path=/proxy/app/x&user=ann&method=post');
    expect(refused.authorization).toBe(`refused: 403 ${await messageOf(await as('ann', '/proxy/app/x', 'POST'))}`);
    const api = await explain('path=/kapis/g.io/v1/things&user=bob');
    expect(api).toMatchObject({ kind: 'APIService', name: 'g' });
    expect(api.authorization).toBe(`refused: 403 ${await messageOf(await as('bob', '/kapis/g.io/v1/things'))}`);
    expect((await explain('path=/proxy/open/x')).authorization).toBe('allowed: public route');
    expect(up.seen.length).toBe(sent);
  });

  it('says 400 where an APIService path climbs out of its group, as the request gets', async () => {
    const path = '/kapis/g.io/v1/%2e%2e%2fv2/things';
    expect((await explain(`path=${encodeURIComponent(path)}&user=ann`)).answer).toMatch(/^400/);
    expect((await as('ann', path)).status).toBe(400);
  });

  it('is authorized as GET /_gateway/explain', async () => {
    expect((await as('ann', '/_gateway/explain?path=/proxy/app/x')).status).toBe(403);
  });
});
