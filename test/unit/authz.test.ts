/**
 * Rules of KubeSphere's authorizer that the golden set does not reach: Rego subset parsing and evaluation, rule
 * facets, the RBAC walk's order and error handling, subjects, and RequestInfo's query handling.
 */
import { describe, expect, it } from 'vitest';
import { compileAuthz } from '../../scripts/exporter/authz/compile';
import { parseRego, RegoUnsupported } from '../../scripts/exporter/authz/rego-parse';
import { authorizeRequest } from '../../worker/authz/guard';
import { AuthzTable } from '../../worker/authz/rbac';
import { regoAllows } from '../../worker/authz/rego';
import { requestInfo, requestReadings } from '../../worker/authz/request-info';
import { nonResourceURLMatches, resourceMatches, resourceNameMatches, verbMatches } from '../../worker/authz/rules';

const AUTHENTICATED_REGO = `package authz
default allow = false
allow = true {
  input.Resource == "pods"
  input.Subresource == "exec"
  allowedVerbs := ["get","create"]
  allowedVerbs[_] == input.Verb
  podName := input.Name
  prefix := "ks-managed-kubectl-"
  startswith(podName, prefix) == true
  input.Namespace == "kubesphere-system"
  input.User.Name == trim_prefix(podName, prefix)
}`;

const input = (o: Record<string, unknown>) => ({ User: { Name: 'alice', Groups: ['system:authenticated'] }, Verb: 'get', ResourceScope: 'Cluster', ...o });

describe('Rego subset', () => {
  it('evaluates KubeSphere\'s pods/exec rule with its built-ins', () => {
    const p = parseRego(AUTHENTICATED_REGO);
    const exec = { Resource: 'pods', Subresource: 'exec', Verb: 'create', Namespace: 'kubesphere-system' };
    expect(regoAllows(p, input({ ...exec, Name: 'ks-managed-kubectl-alice' }))).toBe(true);
    expect(regoAllows(p, input({ ...exec, Name: 'ks-managed-kubectl-bob' }))).toBe(false);
    expect(regoAllows(p, input({ ...exec, Name: 'ks-managed-kubectl-alice', Namespace: 'ns1' }))).toBe(false);
    expect(regoAllows(p, input({ ...exec, Name: 'ks-managed-kubectl-alice', Verb: 'delete' }))).toBe(false);
  });

  it('reads the merged one-line form aggregation writes', () => {
    const p = parseRego('package authz default allow = false allow = true {\n  allowedScopes := ["Workspace","Namespace","Cluster"]\n  allowedScopes[_] == input.ResourceScope\n}');
    expect(regoAllows(p, input({ ResourceScope: 'Namespace' }))).toBe(true);
    expect(regoAllows(p, input({ ResourceScope: '' }))).toBe(false);
    expect(regoAllows(p, input({ ResourceScope: 'Global' }))).toBe(false);
  });

  it('an undefined reference, != and a built-in given a non-string leave the rule unsatisfied', () => {
    expect(regoAllows(parseRego('package authz\nallow { input.Missing == "x" }'), input({}))).toBe(false);
    expect(regoAllows(parseRego('package authz\nallow { input.Verb != "get" }'), input({}))).toBe(false);
    expect(regoAllows(parseRego('package authz\nallow { input.Verb != "list" }'), input({}))).toBe(true);
    expect(regoAllows(parseRego('package authz\nallow { startswith(input.User.Groups, "x") }'), input({}))).toBe(false);
    expect(regoAllows(parseRego('package authz\nallow { input.User.Groups[_] == "system:authenticated" }'), input({}))).toBe(true);
  });

  it.each([
    ['an import', 'package authz\nimport data.x\nallow { true }'],
    ['a helper rule', 'package authz\nis_admin { input.User.Name == "admin" }\nallow { is_admin }'],
    ['unification', 'package authz\nallow { x = input.Verb }'],
    ['a default of true', 'package authz\ndefault allow = true'],
    ['an unknown built-in', 'package authz\nallow { http.send({}) }'],
    ['another package', 'package other\nallow { true }'],
    ['an unknown variable', 'package authz\nallow { x == "y" }'],
    ['an iteration variable', 'package authz\nallow { input.User.Groups[i] == "x" }'],
    ['no package', 'allow { true }'],
  ])('refuses %s (the role then grants only its rules)', (_n, text) => {
    expect(() => parseRego(text)).toThrow(RegoUnsupported);
  });
});

describe('rule facets', () => {
  it('verbs compare exactly: a non-resource rule with "get" never matches GET', () => {
    expect(verbMatches({ verbs: ['get'] }, 'GET')).toBe(false);
    expect(verbMatches({ verbs: ['*'] }, 'PROPFIND')).toBe(true);
  });
  it('resources: exact, "*", and "*/sub" only for a subresource', () => {
    expect(resourceMatches({ resources: ['widgets'] }, 'widgets', 'status')).toBe(false);
    expect(resourceMatches({ resources: ['*/status'] }, 'widgets', 'status')).toBe(true);
    expect(resourceMatches({ resources: ['*/status'] }, 'widgets', '')).toBe(false);
    expect(resourceMatches({ resources: ['widgets/status'] }, 'widgets', 'status')).toBe(true);
  });
  it('resourceNames: a list or create without a name fails a rule that names objects', () => {
    expect(resourceNameMatches({ resourceNames: ['w1'] }, '')).toBe(false);
    expect(resourceNameMatches({ resourceNames: ['w1'] }, 'w1')).toBe(true);
    expect(resourceNameMatches({}, '')).toBe(true);
  });
  it('nonResourceURLs: exact, "*", a prefix star, and no match without the leading slash', () => {
    expect(nonResourceURLMatches({ nonResourceURLs: ['/proxy/foo*'] }, '/proxy/foobar')).toBe(true);
    expect(nonResourceURLMatches({ nonResourceURLs: ['/proxy/foo/*'] }, '/proxy/foo')).toBe(false);
    expect(nonResourceURLMatches({ nonResourceURLs: ['jenkins/*'] }, '/jenkins/x')).toBe(false);
    expect(nonResourceURLMatches({ nonResourceURLs: ['*'] }, '/anything')).toBe(true);
  });
});

const IAM = 'iam.kubesphere.io/v1beta1';
const doc = (kind: string, name: string, body: Record<string, unknown>, meta: Record<string, unknown> = {}) =>
  ({ doc: { apiVersion: kind === 'Namespace' ? 'v1' : IAM, kind, metadata: { name, ...meta }, ...body }, origin: 'test' });
const bind = (kind: string, name: string, roleKind: string, role: string, subjects: unknown[], meta: Record<string, unknown> = {}) =>
  doc(kind, name, { roleRef: { apiGroup: 'iam.kubesphere.io', kind: roleKind, name: role }, subjects }, meta);
const userSubject = (name: string) => [{ kind: 'User', apiGroup: 'iam.kubesphere.io', name }];
const proxyAll = [{ nonResourceURLs: ['/proxy/*'], verbs: ['*'] }];
const decide = (table: AuthzTable, method: string, path: string, user: string, groups = ['system:authenticated']) => {
  const url = new URL(path, 'http://x');
  return authorizeRequest(table, method, url.pathname, url.search, user, groups).allowed;
};

describe('the RBAC walk', () => {
  it('an unresolvable roleRef ends the ClusterRoleBinding walk (later grants are not seen), but not the global one', () => {
    const objects = [
      doc('ClusterRole', 'proxy', { rules: proxyAll }),
      // Visited newest first: the broken binding comes before the good one.
      bind('ClusterRoleBinding', 'b-good', 'ClusterRole', 'proxy', userSubject('u'), { creationTimestamp: '2024-01-01T00:00:00Z' }),
      bind('ClusterRoleBinding', 'a-broken', 'Secret', 'x', userSubject('u'), { creationTimestamp: '2025-01-01T00:00:00Z' }),
      doc('GlobalRole', 'proxy', { rules: proxyAll }),
      bind('GlobalRoleBinding', 'z-broken', 'Secret', 'x', userSubject('g'), { creationTimestamp: '2025-01-01T00:00:00Z' }),
      bind('GlobalRoleBinding', 'y-good', 'GlobalRole', 'proxy', userSubject('g'), { creationTimestamp: '2024-01-01T00:00:00Z' }),
    ];
    const { data, reports } = compileAuthz(objects);
    const table = new AuthzTable(data);
    expect(decide(table, 'GET', '/proxy/x', 'u')).toBe(false);
    expect(decide(table, 'GET', '/proxy/x', 'g')).toBe(true);
    expect(reports.find((r) => r.name === 'a-broken')!.problems.join()).toContain('not a role kind');
  });

  it('ServiceAccount subjects take the RoleBinding\'s namespace; Group subjects match only the groups a caller has', () => {
    const objects = [
      doc('Namespace', 'ns1', {}, { labels: { 'kubesphere.io/workspace': 'ws1' } }),
      doc('Role', 'viewer', { rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['get', 'list'] }] }, { namespace: 'ns1' }),
      bind('RoleBinding', 'robots', 'Role', 'viewer', [{ kind: 'ServiceAccount', apiGroup: 'kubesphere.io', name: 'robot' }], { namespace: 'ns1' }),
      bind('RoleBinding', 'team', 'Role', 'viewer', [{ kind: 'Group', apiGroup: 'iam.kubesphere.io', name: 'team-a' }], { namespace: 'ns1' }),
    ];
    const table = new AuthzTable(compileAuthz(objects).data);
    expect(decide(table, 'GET', '/kapis/x.io/v1/namespaces/ns1/things', 'kubesphere:serviceaccount:ns1:robot', [])).toBe(true);
    expect(decide(table, 'GET', '/kapis/x.io/v1/namespaces/ns2/things', 'kubesphere:serviceaccount:ns1:robot', [])).toBe(false);
    expect(decide(table, 'GET', '/kapis/x.io/v1/namespaces/ns1/things', 'carol')).toBe(false);
    expect(decide(table, 'GET', '/kapis/x.io/v1/namespaces/ns1/things', 'carol', ['team-a'])).toBe(true);
  });

  it('a workspace role binding applies to namespaces labelled with its workspace, and to nothing without the label', () => {
    const objects = [
      doc('Namespace', 'ns1', {}, { labels: { 'kubesphere.io/workspace': 'ws1' } }),
      doc('WorkspaceRole', 'ws1-viewer', { rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['get', 'list'] }] }),
      bind('WorkspaceRoleBinding', 'v', 'WorkspaceRole', 'ws1-viewer', userSubject('w'), { labels: { 'kubesphere.io/workspace': 'ws1' } }),
      bind('WorkspaceRoleBinding', 'unlabelled', 'WorkspaceRole', 'ws1-viewer', userSubject('n')),
    ];
    const { data, reports } = compileAuthz(objects);
    const table = new AuthzTable(data);
    expect(decide(table, 'GET', '/kapis/x.io/v1/namespaces/ns1/things', 'w')).toBe(true);
    expect(decide(table, 'GET', '/kapis/x.io/v1/workspaces/ws1/things', 'w')).toBe(true);
    expect(decide(table, 'GET', '/kapis/x.io/v1/things', 'w')).toBe(false);
    expect(decide(table, 'GET', '/kapis/x.io/v1/workspaces/ws1/things', 'n')).toBe(false);
    expect(reports.find((r) => r.name === 'unlabelled')!.warnings.join()).toContain('no kubesphere.io/workspace label');
  });

  it('an encoded slash is decided on both readings: the routed path must be allowed too', () => {
    const objects = [doc('GlobalRole', 'a', { rules: [{ nonResourceURLs: ['/proxy/a/*'], verbs: ['GET'] }] }), bind('GlobalRoleBinding', 'a', 'GlobalRole', 'a', userSubject('u'))];
    const table = new AuthzTable(compileAuthz(objects).data);
    expect(decide(table, 'GET', '/proxy/a/x', 'u')).toBe(true);
    expect(decide(table, 'GET', '/proxy/a%2Fx', 'u')).toBe(false);
  });
});

describe('RequestInfo', () => {
  it('fieldSelector names the object with = or ==, not with !=', () => {
    expect(requestInfo('GET', '/kapis/g/v1/things', '?fieldSelector=metadata.name%3D%3Dw1').name).toBe('w1');
    expect(requestInfo('GET', '/kapis/g/v1/things', '?fieldSelector=metadata.name!%3Dw1').name).toBe('');
  });
  it('a query ListOptions cannot decode keeps the watch flag and names nothing', () => {
    const bad = requestInfo('GET', '/kapis/g/v1/things', '?watch=1&limit=abc&fieldSelector=metadata.name%3Dw1');
    expect(bad).toMatchObject({ verb: 'watch', name: '' });
    expect(requestInfo('GET', '/kapis/g/v1/things', '?labelSelector=a%20in%20(x,y)&fieldSelector=metadata.name%3Dw1').name).toBe('w1');
    expect(requestInfo('GET', '/kapis/g/v1/things', '?labelSelector=!!x&fieldSelector=metadata.name%3Dw1').name).toBe('');
  });
  it("the workspace label selector of a watch is KubeSphere's second reading, never the edge's own", () => {
    const q = '?watch=true&labelSelector=kubesphere.io/workspace%3Dws1';
    expect(requestInfo('GET', '/kapis/g/v1/things', q)).toMatchObject({ workspace: '', scope: 'Cluster' });
    expect(requestInfo('GET', '/kapis/g/v1/namespaces/n1/things', q, 'kubesphere')).toMatchObject({ workspace: 'ws1', namespace: 'n1', scope: 'Workspace' });
    const readings = requestReadings('GET', '/kapis/g/v1/namespaces/n1/things', q);
    expect(readings.map((r) => r.scope)).toEqual(['Namespace', 'Workspace']);
    // The /watch/ path form too; a list is not a watch; the first labelSelector value counts, as Go's Query().Get.
    expect(requestReadings('GET', '/kapis/g/v1/watch/namespaces/n1/things', '?labelSelector=kubesphere.io/workspace%3Dws2')[1]).toMatchObject({ verb: 'watch', workspace: 'ws2' });
    expect(requestReadings('GET', '/kapis/g/v1/namespaces/n1/things', '?labelSelector=kubesphere.io/workspace%3Dws2')).toHaveLength(1);
    expect(requestReadings('GET', '/kapis/g/v1/things', '?watch=1&labelSelector=app%3Dx&labelSelector=kubesphere.io/workspace%3Dws2')).toHaveLength(1);
    // The rest of the selector is the workspace, as KubeSphere's TrimPrefix leaves it.
    expect(requestInfo('GET', '/kapis/g/v1/things', '?watch=1&labelSelector=kubesphere.io/workspace%3Dws1,app%3Dx', 'kubesphere').workspace).toBe('ws1,app=x');
  });
  it('of several metadata.name terms KubeSphere names the first, the edge none: both readings are decided', () => {
    const q = '?fieldSelector=metadata.name%3Dw1,metadata.name%3Dw2';
    expect(requestReadings('GET', '/kapis/g/v1/things', q).map((r) => r.name)).toEqual(['', 'w1']);
    expect(requestReadings('GET', '/kapis/g/v1/things', '?fieldSelector=metadata.name%3Dzed,metadata.name%3Dabc').map((r) => r.name)).toEqual(['', 'abc']);
    // Empty terms are skipped, as apimachinery's parser does.
    expect(requestInfo('GET', '/kapis/g/v1/things', '?fieldSelector=metadata.name%3Dx,').name).toBe('x');
  });
  it('a watch flag when ListOptions does not decode: strings.ToLower, so falſe is a watch (then the selector\'s reading)', () => {
    const q = '?watch=fal%C5%BFe&limit=9223372036854775808&labelSelector=kubesphere.io/workspace%3Dws9';
    expect(requestInfo('GET', '/kapis/g/v1/namespaces/ns1/things', q).verb).toBe('watch');
    expect(requestReadings('GET', '/kapis/g/v1/namespaces/ns1/things', q)[1]).toMatchObject({ scope: 'Workspace', workspace: 'ws9' });
    // Decoded, EqualFold folds ſ to s: falſe is false.
    expect(requestInfo('GET', '/kapis/g/v1/things', '?watch=fal%C5%BFe').verb).toBe('list');
  });
  it('label selectors parse with Go\'s four white-space characters and int64 bounds, or name nothing', () => {
    const named = (sel: string) => requestInfo('GET', '/kapis/g/v1/things', `?labelSelector=${sel}&fieldSelector=metadata.name%3Dw1`).name;
    expect(named('a%20%3D%20b')).toBe('w1');
    expect(named('a%C2%A0%3D%20b')).toBe('');
    expect(named('a%0B%3D%20b')).toBe('');
    expect(named('a%3E5')).toBe('w1');
    expect(named('a%3E99999999999999999999999')).toBe('');
    expect(requestReadings('GET', '/kapis/g/v1/things', '?fieldSelector=metadata.name%3Dw1').map((r) => r.name)).toEqual(['w1']);
  });
  it('a Rego policy that KubeSphere\'s reading fails refuses, though the edge\'s own reading passes', () => {
    // allow unless the object is named w1: the edge's reading names none, KubeSphere's names w1.
    const rego = 'package authz\ndefault allow = false\nallow {\n  input.Name != "w1"\n}';
    const table = new AuthzTable(compileAuthz([
      doc('GlobalRole', 'not-w1', { rules: [] }, { annotations: { 'iam.kubesphere.io/rego-override': rego } }),
      bind('GlobalRoleBinding', 'b', 'GlobalRole', 'not-w1', userSubject('alice')),
    ]).data);
    expect(authorizeRequest(table, 'GET', '/kapis/g/v1/things', '?fieldSelector=metadata.name%3Dw3,metadata.name%3Dw2', 'alice', ['system:authenticated']).allowed).toBe(true);
    // apimachinery sorts the terms: w1 comes first whatever the order sent.
    expect(authorizeRequest(table, 'GET', '/kapis/g/v1/things', '?fieldSelector=metadata.name%3Dw2,metadata.name%3Dw1', 'alice', ['system:authenticated']).allowed).toBe(false);
  });
  it('global resources, workspace scope of global resources, and cluster prefixes', () => {
    expect(requestInfo('GET', '/kapis/iam.kubesphere.io/v1beta1/users', '').scope).toBe('Global');
    expect(requestInfo('GET', '/kapis/iam.kubesphere.io/v1beta1/workspaces/ws1/users', '').scope).toBe('Workspace');
    expect(requestInfo('GET', '/clusters/c1/kapis/g/v1/things', '')).toMatchObject({ cluster: 'c1', path: '/kapis/g/v1/things', resource: 'things' });
    expect(requestInfo('GET', '/kapis/clusters/c1/g/v1/things', '')).toMatchObject({ cluster: 'c1', resource: 'things' });
  });
});
