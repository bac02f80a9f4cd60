/** SPEC §2 matching and priority, on the RouteTable alone. */
import { describe, expect, it } from 'vitest';
import { compileDirectives } from '../../worker/directives/parse';
import type { ReverseProxyRoute, Snapshot } from '../../worker/model/snapshot';
import { claimsReservedPath, pathClaimProblem } from '../../scripts/exporter/path-claims';
import { apiGroupVersionOf, RouteTable } from '../../worker/route-table';

const rp = (name: string, ...matchers: [string, string][]): ReverseProxyRoute => ({
  name, available: true, matchers: matchers.map(([path, method]) => ({ path, method })), directives: compileDirectives(undefined),
  policy: { allowAnonymous: false, timeoutMs: 30_000 }, upstream: { origin: 'http://127.0.0.1:1' },
});

const table = (routes: ReverseProxyRoute[], extra: Partial<Snapshot> = {}) =>
  RouteTable.of({ schemaVersion: 1, cluster: 'c', apiServices: [], reverseProxies: routes, bundles: [], resources: [], ...extra }, 'h');

describe('ReverseProxy matching', () => {
  const t = table([
    rp('z-exact', ['/p/x', 'GET']),
    rp('prefix', ['/p/x/*', '*']),
    rp('b-named', ['/p/x/y/*', 'POST']),
    rp('a-star', ['/p/x/y/*', '*']),
    rp('c-star', ['/p/x/y/*', '*']),
    rp('short', ['/p*', '*']),
  ]);
  const m = (path: string, method = 'GET') => t.matchReverseProxy(path, method)?.route.name;

  it('exact path first', () => expect(m('/p/x')).toBe('z-exact'));
  it('an exact path with another method gives way to prefixes', () => expect(m('/p/x', 'PUT')).toBe('short'));
  it('"/p/x/*" does not match "/p/x"', () => expect(m('/p/x', 'DELETE')).toBe('short'));
  it('"/p/x/*" matches "/p/x/" and below', () => {
    expect(m('/p/x/')).toBe('prefix');
    expect(m('/p/x/a/b')).toBe('prefix');
  });
  it('longest prefix wins', () => expect(m('/p/x/y/z')).toBe('a-star'));
  it('a named method before "*"', () => expect(m('/p/x/y/z', 'POST')).toBe('b-named'));
  it('then by name', () => expect(m('/p/x/y/z', 'PATCH')).toBe('a-star'));
  it('a prefix may end mid-segment', () => expect(m('/pq')).toBe('short'));
  it('no match', () => expect(m('/q')).toBeUndefined());
  it('reports which matcher matched', () => expect(t.matchReverseProxy('/p/x/1', 'GET')?.matcher).toBe('/p/x/*'));
});

describe('APIService and bundle paths', () => {
  it('needs group, version and one more segment', () => {
    expect(apiGroupVersionOf('/kapis/g.io/v1/x')).toBe('g.io/v1');
    expect(apiGroupVersionOf('/kapis/g.io/v1/x/y?')).toBe('g.io/v1');
    for (const p of ['/kapis/g.io/v1', '/kapis/g.io/v1/', '/kapis/g.io', '/kapis//v1/x', '/kapis/g.io//x', '/kapi/g/v/x', '/apis/g/v/x']) {
      expect(apiGroupVersionOf(p), p).toBeUndefined();
    }
  });
  it('matches bundles exactly, /pstatic/dist as an alias, query ignored by the caller', () => {
    const t = table([], { bundles: [{ bundle: 'b', link: '/dist/b/index.js', contentType: 'x', hash: 'h' }] });
    expect(t.matchBundle('/dist/b/index.js')?.bundle).toBe('b');
    expect(t.matchBundle('/pstatic/dist/b/index.js')?.bundle).toBe('b');
    expect(t.matchBundle('/dist/b/index.js/')).toBeUndefined();
    expect(t.matchBundle('/dist/b/INDEX.js')).toBeUndefined();
  });
});

describe('paths a ReverseProxy may claim (SPEC §2.3)', () => {
  it.each([
    ['/api/v1/x', '/api/'], ['/apis/*', '/apis/'], ['/kapis', '/kapis/'], ['/kapi/x', '/kapi/'], ['/oauth/token', '/oauth/'],
    ['/dist/x.js', '/dist/'], ['/_gateway/status', '/_gateway/'], ['/ka*', '/kapis/'], ['/login', '/login'], ['/login/*', '/login'],
    ['/log*', '/login'], ['/logout', '/logout'], ['/pstatic/x', '/pstatic/'], ['/clusters/host/x', '/clusters/'], ['/p*', '/pstatic/'],
    ['/dashboard', '/dashboard'], ['/favicon.ico', '/favicon.ico'],
  ])('%s claims %s', (path, reserved) => expect(claimsReservedPath(path)).toBe(reserved));
  it.each(['/proxy/*', '/apix', '/distx/*', '/loginx', '/kapis-like', '/res/a.png'])('%s is not reserved', (p) => expect(claimsReservedPath(p)).toBeUndefined());

  it.each(['/proxy/grafana/*', '/proxy/x', '/res/example.kubesphere.io/images/*'])('%s is open to every extension', (p) => {
    expect(pathClaimProblem(p, false)).toBeUndefined();
  });
  it('other paths need ks-edge.io/claim-path', () => {
    expect(pathClaimProblem('/grafana/*', false)).toContain('ks-edge.io/claim-path');
    expect(pathClaimProblem('/grafana/*', true)).toBeUndefined();
    expect(pathClaimProblem('/proxy', false)).toContain('outside /proxy/ and /res/');
  });
  it.each(['/', '/*', '/login', '/kapis/x/*'])('%s can never be claimed, even with the annotation', (p) => {
    expect(pathClaimProblem(p, true)).toMatch(/can never be claimed/);
  });
});
