/**
 * What an adversarial review of the authorization and hardening code found, as tests of the pure functions:
 * inputs that could stall the isolate, stop the exporter, or read a request differently from KubeSphere.
 */
import { describe, expect, it } from 'vitest';
import { compileAuthz } from '../../scripts/exporter/authz/compile';
import { parseRego, RegoUnsupported } from '../../scripts/exporter/authz/rego-parse';
import { AuthzTable } from '../../worker/authz/rbac';
import { regoAllows } from '../../worker/authz/rego';
import { requestInfo } from '../../worker/authz/request-info';
import { authorizeRequest } from '../../worker/authz/guard';
import { DirectiveError, parseHeaderOp, parseRewrite } from '../../worker/directives/parse';
import { applyRewrite } from '../../worker/directives/path';
import { upstreamHeaders } from '../../worker/proxy/upstream-request';
import { routingPath } from '../../worker/route-table';

const timed = <T>(f: () => T): { value: T; ms: number } => {
  const t0 = performance.now();
  const value = f();
  return { value, ms: performance.now() - t0 };
};

describe('nothing a request sends can stall the isolate', () => {
  it('a label selector built to make a backtracking engine explode is read in linear time', () => {
    const q = `?labelSelector=x+in+(${'+,+'.repeat(40)}!&fieldSelector=metadata.name%3Dw1`;
    const { value, ms } = timed(() => requestInfo('GET', '/kapis/g.io/v1/widgets', q));
    expect(ms).toBeLessThan(1000); // exponential backtracking took 21 s at a third of this length
    expect(value.name).toBe(''); // the selector does not parse, so ListOptions names nothing
  });
  it('a rewrite glob against a long segment is matched in linear time', () => {
    const rule = parseRewrite('/proxy/app/*-*-*-*-x /y');
    const state = { path: `/proxy/app/${'-'.repeat(5000)}`, query: '' };
    const ctx = { host: 'h', method: 'GET', path: state.path, query: '', scheme: 'http', remoteHost: '', user: '', headers: new Headers() };
    const { ms } = timed(() => applyRewrite(state, [rule], ctx));
    expect(ms).toBeLessThan(1000);
    expect(state.path).toBe(`/proxy/app/${'-'.repeat(5000)}`);
  });
});

describe('no role can stop the exporter, or make a decision expensive', () => {
  const role = (rego: string) => ({
    doc: { apiVersion: 'iam.kubesphere.io/v1beta1', kind: 'Role', metadata: { name: 'evil', namespace: 'ns1', annotations: { 'iam.kubesphere.io/rego-override': rego } }, rules: [] },
    origin: 'test',
  });
  it('a policy nested 20,000 deep is not evaluated, with a warning; the export goes on', () => {
    const { data, reports } = compileAuthz([role(`package authz\nallow { ${'['.repeat(20000)} }`)]);
    expect(data.roles[0]!.rego).toBeUndefined();
    expect(reports[0]!.warnings.join()).toContain('not evaluated at the edge');
  });
  it('a policy that multiplies iterations is cut off and does not allow', () => {
    const p = parseRego('package authz\nallow { x := [input.A[_], input.A[_], input.A[_], input.A[_], input.A[_]]\nx[0] == "never" }');
    const input = { A: Array.from({ length: 40 }, (_, i) => String(i)) };
    const { value, ms } = timed(() => regoAllows(p, input));
    expect(value).toBe(false);
    expect(ms).toBeLessThan(1000);
  });
  it('evaluates as OPA does: no .length on arrays, no string keys on arrays, Go\'s upper-casing, one package', () => {
    const input = { User: { Name: 'a', Groups: ['g'] }, Resource: 'ß' };
    expect(regoAllows(parseRego('package authz\nallow { input.User.Groups.length == 1 }'), input)).toBe(false);
    expect(regoAllows(parseRego('package authz\nallow { input.User.Groups["0"] == "g" }'), input)).toBe(false);
    expect(regoAllows(parseRego('package authz\nallow { input.User.Groups[0] == "g" }'), input)).toBe(true);
    expect(regoAllows(parseRego('package authz\nallow { upper(input.Resource) == "ß" }'), input)).toBe(true);
    expect(() => parseRego('package authz\npackage authz\nallow { true }')).toThrow(RegoUnsupported);
    expect(() => parseRego('package authz\nallow {\u00a0true }')).toThrow(RegoUnsupported);
  });
});

describe('the request is read as KubeSphere reads it, never more loosely', () => {
  const objects = [
    { doc: { apiVersion: 'iam.kubesphere.io/v1beta1', kind: 'GlobalRole', metadata: { name: 'b-only' }, rules: [{ apiGroups: ['g.io'], resources: ['widgets'], resourceNames: ['b'], verbs: ['list', 'get'] }] }, origin: 't' },
    { doc: { apiVersion: 'iam.kubesphere.io/v1beta1', kind: 'GlobalRoleBinding', metadata: { name: 'carol' }, roleRef: { kind: 'GlobalRole', name: 'b-only' }, subjects: [{ kind: 'User', name: 'carol' }] }, origin: 't' },
  ];
  const table = new AuthzTable(compileAuthz(objects).data);
  const carol = (query: string) => authorizeRequest(table, 'GET', '/kapis/g.io/v1/widgets', query, 'carol', ['system:authenticated']).allowed;
  it('fieldSelector names the object only as apimachinery parses it', () => {
    expect(carol('?fieldSelector=metadata.name%3Db')).toBe(true);
    for (const q of ['?fieldSelector=metadata.name%3D%20b', '?fieldSelector=%20metadata.name%3Db', '?fieldSelector=metadata.name%3Db,metadata.name%3Da',
      `?labelSelector=${'k'.repeat(64)}&fieldSelector=metadata.name%3Db`, '?limit=99999999999999999999&fieldSelector=metadata.name%3Db']) {
      expect(carol(q), q).toBe(false);
    }
  });
  it('watch=falſe is a list, as Go\'s EqualFold reads it', () => {
    expect(requestInfo('GET', '/kapis/g.io/v1/widgets', '?watch=fal%C5%BFe').verb).toBe('list');
  });
  it('routes are matched on the decoded path, keeping encoded slashes, as authorization reads it', () => {
    expect(routingPath('/proxy/%70ublic/x')).toBe('/proxy/public/x');
    expect(routingPath('/proxy/a%2Fb/%5cc')).toBe('/proxy/a%2Fb/%5cc');
    expect(routingPath('/proxy/plain')).toBe('/proxy/plain');
  });
});

describe('identity and session headers', () => {
  it('a manifest cannot set X-Remote-* with headerUp', () => {
    expect(() => parseHeaderOp('headerUp', 'X-Remote-User {header.X-Foo}')).toThrow(DirectiveError);
    expect(() => parseHeaderOp('headerUp', '+X_Remote_Extra_a b')).toThrow(/set by the gateway only/);
    expect(parseHeaderOp('headerUp', '-X-Remote-*')).toMatchObject({ op: 'deleteMatching' });
    expect(parseHeaderOp('headerDown', 'X-Remote-Note hi')).toMatchObject({ op: 'set' });
  });
  it('a session cookie cannot hide in a second Cookie header joined with ", "', () => {
    const req = new Request('http://edge.test/proxy/x', { headers: [['cookie', 'lang=en'], ['cookie', 'token=abc; theme=dark']] });
    const h = upstreamHeaders(req, new URL(req.url), undefined, undefined);
    expect(h.get('cookie')).not.toContain('token=abc');
    expect(h.get('cookie')).toContain('lang=en');
  });
});
