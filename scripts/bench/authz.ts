/**
 * `npm run bench:authz` (also part of `npm run bench`): authorization at scale.
 *
 * - a decision for a user with 50 bindings, in a snapshot of 10,000 bindings, 5,000 users and 2,000 namespaces
 *   (median over request shapes of every scope; budget ≤ 2 µs);
 * - what a cold load of that snapshot together with 10,000 routes costs in V8: the stored head checked, then the
 *   decisions above, each reading the chunks it needs (budget ≤ 100 ms; `npm run bench:cold` measures the
 *   whole first request on a fresh workerd).
 */
import { compileAuthz } from '../exporter/authz/compile';
import type { RawObject } from '../exporter/manifests';
import { authorizeRequest } from '../../worker/authz/guard';
import { RouteTable } from '../../worker/route-table';
import { loaded } from '../../worker/snapshot/lazy-part';
import { readHead, storedParts } from '../../worker/snapshot/snapshot-parts';
import { encodeSnapshot } from '../exporter/snapshot-encode';
import { syntheticSnapshot } from './routing';

const IAM = 'iam.kubesphere.io/v1beta1';
export const AUTHZ_SCALE = { bindings: 10_000, users: 5_000, namespaces: 2_000, bindingsOfUser: 50 } as const;

const obj = (kind: string, name: string, body: Record<string, unknown>, meta: Record<string, unknown> = {}): RawObject =>
  ({ doc: { apiVersion: kind === 'Namespace' ? 'v1' : IAM, kind, metadata: { name, ...meta }, ...body }, origin: 'bench' });
const ref = (kind: string, name: string) => ({ apiGroup: 'iam.kubesphere.io', kind, name });
const userSubject = (name: string) => [{ apiGroup: 'iam.kubesphere.io', kind: 'User', name }];

/**
 * A site like KubeSphere's: 200 workspaces of 10 namespaces, roles per namespace and workspace, and 10,000 bindings
 * spread over 5,000 users (two each), except `heavy`, who has 50 of every kind.
 */
export function syntheticIam(): RawObject[] {
  const out: RawObject[] = [];
  const { users, namespaces } = AUTHZ_SCALE;
  const viewer = [{ apiGroups: ['*'], resources: ['*'], verbs: ['get', 'list', 'watch'] }];
  for (let w = 0; w < namespaces / 10; w++) {
    out.push(obj('WorkspaceRole', `ws${w}-viewer`, { rules: viewer }, { labels: { 'kubesphere.io/workspace': `ws${w}` } }));
  }
  for (let n = 0; n < namespaces; n++) {
    out.push(obj('Namespace', `ns${n}`, {}, { labels: { 'kubesphere.io/workspace': `ws${Math.floor(n / 10)}` } }));
    out.push(obj('Role', 'operator', { rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['get', 'list', 'create', 'update'] }] }, { namespace: `ns${n}` }));
  }
  for (let g = 0; g < 100; g++) out.push(obj('GlobalRole', `ext-${g}`, { rules: [{ nonResourceURLs: [`/proxy/ext-${g}/*`], verbs: ['GET'] }, { apiGroups: [`g-${g}.io`], resources: ['things'], verbs: ['get'] }] }));
  out.push(obj('ClusterRole', 'cluster-viewer', { rules: [...viewer, { nonResourceURLs: ['*'], verbs: ['GET'] }] }));
  for (let u = 0; u < users; u++) out.push(obj('User', `user${u}`, { spec: { email: `u${u}@x.io` }, status: { state: 'Active' } }));
  out.push(obj('User', 'heavy', { spec: { email: 'heavy@x.io' }, status: { state: 'Active' } }));

  let count = 0;
  const bind = (kind: string, name: string, role: { kind: string; name: string }, subjects: unknown[], meta: Record<string, unknown> = {}) => {
    out.push(obj(kind, name, { roleRef: ref(role.kind, role.name), subjects }, meta));
    count++;
  };
  const { bindingsOfUser } = AUTHZ_SCALE;
  for (let i = 0; i < bindingsOfUser; i++) {
    const kind = i % 4;
    if (kind === 0) bind('GlobalRoleBinding', `heavy-ext-${i}`, { kind: 'GlobalRole', name: `ext-${i}` }, userSubject('heavy'));
    else if (kind === 1) bind('WorkspaceRoleBinding', `heavy-ws${i}`, { kind: 'WorkspaceRole', name: `ws${i}-viewer` }, userSubject('heavy'), { labels: { 'kubesphere.io/workspace': `ws${i}` } });
    else if (kind === 2) bind('RoleBinding', `heavy-operator`, { kind: 'Role', name: 'operator' }, userSubject('heavy'), { namespace: `ns${i * 7}` });
    else bind('ClusterRoleBinding', `heavy-${i}`, { kind: 'GlobalRole', name: `ext-${i}` }, userSubject('heavy'));
  }
  for (let u = 0; count < AUTHZ_SCALE.bindings; u = (u + 1) % users) {
    const name = `user${u}`;
    const k = count % 5;
    if (k === 0) bind('GlobalRoleBinding', `${name}-ext-${count}`, { kind: 'GlobalRole', name: `ext-${count % 100}` }, userSubject(name));
    else if (k === 1) bind('WorkspaceRoleBinding', `${name}-ws-${count}`, { kind: 'WorkspaceRole', name: `ws${count % 200}-viewer` }, userSubject(name), { labels: { 'kubesphere.io/workspace': `ws${count % 200}` } });
    else if (k === 4 && count % 100 === 4) bind('ClusterRoleBinding', `${name}-viewer-${count}`, { kind: 'ClusterRole', name: 'cluster-viewer' }, userSubject(name));
    else bind('RoleBinding', `${name}-operator-${count}`, { kind: 'Role', name: 'operator' }, userSubject(name), { namespace: `ns${count % AUTHZ_SCALE.namespaces}` });
  }
  return out;
}

/** Requests of every scope for the heavy user, allowed and denied (denials walk every matching binding). */
const REQUESTS: [string, string][] = [
  ['GET', '/proxy/ext-48/img/logo.png'], ['POST', '/proxy/ext-48/api'], ['GET', '/proxy/ext-99/x'],
  ['GET', '/kapis/g-4.io/v1/things/t1'], ['GET', '/kapis/x.io/v1/namespaces/ns14/things'],
  ['DELETE', '/kapis/x.io/v1/namespaces/ns1999/things/a'], ['GET', '/kapis/x.io/v1/workspaces/ws1/things'],
  ['GET', '/kapis/x.io/v1/things'], ['PUT', '/kapis/x.io/v1/namespaces/ns42/things/t'],
];

export interface AuthzBench { decision_ns: number; decision_p99_ns: number; cold_load_ms: number; snapshot_bytes: number; bindings: number; users: number; namespaces: number }

export async function authzBench(log: (l: string) => void = console.log): Promise<AuthzBench> {
  const compiled = compileAuthz(syntheticIam());
  const snapshot = { ...syntheticSnapshot(10_000), authz: compiled.data };
  const stored = encodeSnapshot(snapshot);
  const parsed = REQUESTS.map(([m, p]) => ({ method: m, url: new URL(p, 'http://x') }));
  const groups = ['system:authenticated'];
  // A cold load as the worker does it: the head checked, then every decision above with the chunks it reads.
  const loads: number[] = [];
  let table: RouteTable | undefined;
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    const parts = storedParts(await readHead(stored.head, stored.hash), { snapshot: stored.hash, body: async () => stored.body, invalid: () => {} });
    table = new RouteTable(parts, stored.hash);
    for (const q of parsed) await loaded(() => authorizeRequest(table!.authz, q.method, q.url.pathname, q.url.search, 'heavy', groups));
    loads.push(performance.now() - t0);
  }
  const authz = table!.authz!;
  const perRequest: number[] = [];
  const ROUNDS = 2000;
  for (let r = 0; r < 3; r++) for (const q of parsed) authorizeRequest(authz, q.method, q.url.pathname, q.url.search, 'heavy', groups); // warm-up
  for (const q of parsed) {
    for (let batch = 0; batch < 20; batch++) {
      const t0 = performance.now();
      for (let i = 0; i < ROUNDS; i++) authorizeRequest(authz, q.method, q.url.pathname, q.url.search, 'heavy', groups);
      perRequest.push(((performance.now() - t0) * 1e6) / ROUNDS);
    }
  }
  const sorted = [...perRequest].sort((a, b) => a - b);
  const result: AuthzBench = {
    decision_ns: Math.round(sorted[Math.floor(sorted.length / 2)]!),
    decision_p99_ns: Math.round(sorted[Math.floor(sorted.length * 0.99)]!),
    cold_load_ms: +[...loads].sort((a, b) => a - b)[Math.floor(loads.length / 2)]!.toFixed(1),
    snapshot_bytes: stored.head.length + stored.body.length,
    bindings: compiled.data.globalRoleBindings.length + compiled.data.clusterRoleBindings.length
      + Object.values(compiled.data.workspaceRoleBindings).flat().length + Object.values(compiled.data.roleBindings).flat().length,
    users: Object.keys(compiled.data.users).length,
    namespaces: Object.keys(compiled.data.namespaceWorkspaces).length,
  };
  log(`authorization: ${result.bindings} bindings, ${result.users} users, ${result.namespaces} namespaces + 10,000 routes (${(result.snapshot_bytes / 1e6).toFixed(1)} MB snapshot)`);
  log(`  decision for a user with ${AUTHZ_SCALE.bindingsOfUser} bindings: median ${result.decision_ns} ns, p99 ${result.decision_p99_ns} ns (budget ≤ 2,000 ns median)`);
  log(`  cold load (the head checked, then ${REQUESTS.length} decisions reading their chunks): ${result.cold_load_ms} ms (budget ≤ 100 ms)`);
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await authzBench();
  process.exitCode = r.decision_ns <= 2000 && r.cold_load_ms <= 100 ? 0 : 1;
}
