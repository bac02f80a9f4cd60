/**
 * The stored snapshot layout (worker/model/snapshot-layout.ts): what the exporter encodes is what the worker reads,
 * it routes exactly as the whole snapshot in memory does, chunks are read only when asked for, and every chunk is
 * checked against the hash the verified header vouches for and against its schema.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compileAuthz } from '../../scripts/exporter/authz/compile';
import type { RawObject } from '../../scripts/exporter/manifests';
import { encodeSnapshot } from '../../scripts/exporter/snapshot-encode';
import { snapshotTooLarge } from '../../scripts/exporter/publish';
import { compileDirectives } from '../../worker/directives/parse';
import type { ReverseProxyRoute, Snapshot } from '../../worker/model/snapshot';
import { CHUNK_BYTES, prefixKey, routeKey, SHORT_PREFIXES, type SnapshotHeader } from '../../worker/model/snapshot-layout';
import { RouteTable } from '../../worker/route-table';
import { authorizeRequest } from '../../worker/authz/guard';
import { checkAfterAnswer, loaded, SnapshotPartError } from '../../worker/snapshot/lazy-part';
import { isHead, materialize, partsOf, readHead, storedParts } from '../../worker/snapshot/snapshot-parts';

const policy = { allowAnonymous: false, timeoutMs: 30_000 };
const upstream = { origin: 'http://127.0.0.1:9' };
const rp = (name: string, matchers: [string, string][]): ReverseProxyRoute => ({
  name, available: true, policy, upstream, matchers: matchers.map(([path, method]) => ({ path, method })), directives: compileDirectives(undefined),
});

/** Enough routes, reports and bindings for several chunks per part, and matchers that tie on path. */
function site(): Snapshot {
  const s: Snapshot = { schemaVersion: 1, cluster: 'host', apiServices: [], reverseProxies: [], bundles: [], resources: [] };
  for (let i = 0; i < 400; i++) {
    s.reverseProxies.push(rp(`rp-${String(i).padStart(3, '0')}`, [[`/proxy/ext-${i}/*`, i % 2 ? 'GET' : '*'], [`/proxy/exact-${i}`, 'POST']]));
    s.apiServices.push({ name: `v1.g${i}.io`, group: `g${i}.io`, version: 'v1', available: i % 7 !== 0, policy, upstream });
    s.bundles.push({ bundle: `b${i}`, link: `/dist/b${i}/index.js`, contentType: 'application/javascript', hash: 'a'.repeat(64), size: 10 });
    s.resources.push({ kind: 'ReverseProxy', name: `rp-${i}`, state: 'Available', routes: [`/proxy/ext-${i}/*`], problems: [], warnings: [] });
  }
  // Listed out of name order; the table breaks ties by name, a named method first.
  s.reverseProxies.push(rp('zz-shared', [['/proxy/shared/*', '*']]), rp('aa-shared', [['/proxy/shared/*', '*']]), rp('mm-shared', [['/proxy/shared/*', 'GET']]));
  const IAM = 'iam.kubesphere.io/v1beta1';
  const o = (kind: string, name: string, body: Record<string, unknown>, meta: Record<string, unknown> = {}): RawObject =>
    ({ doc: { apiVersion: kind === 'Namespace' ? 'v1' : IAM, kind, metadata: { name, ...meta }, ...body }, origin: 't' });
  const iam: RawObject[] = [o('GlobalRole', 'viewer', { rules: [{ nonResourceURLs: ['/proxy/*'], verbs: ['GET'] }] })];
  for (let u = 0; u < 600; u++) {
    iam.push(o('User', `user${u}`, { status: { state: u % 50 ? 'Active' : 'Disabled' } }));
    iam.push(o('Namespace', `ns${u}`, {}, { labels: { 'kubesphere.io/workspace': `ws${u % 20}` } }));
    iam.push(o('Role', 'op', { rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['get'] }] }, { namespace: `ns${u}` }));
    iam.push(o('RoleBinding', `op-${u}`, { roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'op' }, subjects: [{ kind: 'User', name: `user${u}` }] }, { namespace: `ns${u}` }));
    if (u % 3 === 0) iam.push(o('GlobalRoleBinding', `viewer-${u}`, { roleRef: { apiGroup: 'iam.kubesphere.io', kind: 'GlobalRole', name: 'viewer' }, subjects: [{ kind: 'User', name: `user${u}` }] }));
  }
  s.authz = compileAuthz(iam).data;
  return s;
}

/** A stored snapshot opened as the worker opens it; `body` may be replaced to tamper with it. */
async function open(head: Buffer, body: Buffer, hash: string, invalid: (e: Error) => void = () => {}) {
  let bodyReads = 0;
  const parts = storedParts(await readHead(head, hash), { snapshot: hash, body: async () => (bodyReads++, body), invalid });
  return { parts, table: new RouteTable(parts, hash), bodyReads: () => bodyReads };
}

const header = (head: Buffer) => JSON.parse(head.subarray(0, head.indexOf(10)).toString()) as SnapshotHeader;
/** Re-signs a tampered header: its new hash is the pointer's. */
function withHeader(head: Buffer, h: SnapshotHeader): { head: Buffer; hash: string } {
  const line = Buffer.from(JSON.stringify(h));
  return { head: Buffer.concat([line, head.subarray(head.indexOf(10))]), hash: createHash('sha256').update(line).digest('hex') };
}

const PATHS: [string, string][] = [
  ['/proxy/ext-3/a', 'GET'], ['/proxy/ext-4/a', 'DELETE'], ['/proxy/exact-17', 'POST'], ['/proxy/exact-17', 'GET'],
  ['/proxy/shared/x', 'GET'], ['/proxy/shared/x', 'PUT'], ['/proxy/ext-399/deep/er', 'GET'], ['/proxy/none', 'GET'],
];

/** The rule the table implements, by brute force: exact first, then the longest prefix; a named method, then the name. */
function reference(routes: ReverseProxyRoute[], path: string, method: string): { name: string; matcher: string } | undefined {
  const all = routes.flatMap((r) => r.matchers.map((m) => ({ name: r.name, m })));
  const fits = all.filter((c) => c.m.method === method || c.m.method === '*');
  const best = (list: typeof all) => [...list].sort((a, b) => (a.m.method === '*' ? 1 : 0) - (b.m.method === '*' ? 1 : 0) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))[0];
  const exact = best(fits.filter((c) => c.m.path === path && !c.m.path.endsWith('*')));
  if (exact) return { name: exact.name, matcher: path };
  const prefixes = fits.filter((c) => c.m.path.endsWith('*') && path.startsWith(c.m.path.slice(0, -1)));
  const longest = Math.max(-1, ...prefixes.map((c) => c.m.path.length));
  const p = best(prefixes.filter((c) => c.m.path.length === longest));
  return p && { name: p.name, matcher: p.m.path };
}

describe('route keys', () => {
  it('match as a brute-force search over every matcher does, stored and in memory (random tables and paths)', async () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const SEGMENTS = ['a', 'b', 'ab', 'x', 'proxy'];
    const path = () => Array.from({ length: 1 + rand(4) }, () => '/' + SEGMENTS[rand(SEGMENTS.length)]).join('') + (rand(3) === 0 ? '/' : '');
    for (let round = 0; round < 20; round++) {
      const routes = Array.from({ length: 30 }, (_, i) => {
        const p = path();
        // Exact paths, prefixes at a segment's end, and prefixes that end inside a segment (`/a/a*`).
        const kind = rand(3);
        const matcher = kind === 0 ? p : kind === 1 ? `${p.endsWith('/') ? p : p + '/'}*` : `${p.slice(0, 1 + rand(p.length))}*`;
        return rp(`r${rand(10)}-${i}`, [[matcher, ['GET', '*', 'POST'][rand(3)]!]]);
      });
      const snapshot: Snapshot = { schemaVersion: 1, cluster: 'host', apiServices: [], reverseProxies: routes, bundles: [], resources: [] };
      const e = encodeSnapshot(snapshot);
      const { table } = await open(e.head, e.body, e.hash);
      const memory = RouteTable.of(snapshot, 'h');
      for (let q = 0; q < 40; q++) {
        const p = path() + (rand(2) ? 'a' : '');
        const method = ['GET', 'POST', 'PUT'][rand(3)]!;
        const want = reference(routes, p, method);
        const got = await loaded(() => table.matchReverseProxy(p, method));
        expect(got && { name: got.route.name, matcher: got.matcher }, `${method} ${p}`).toEqual(want);
        const mem = memory.matchReverseProxy(p, method);
        expect(mem && { name: mem.route.name, matcher: mem.matcher }).toEqual(want);
      }
    }
  });

  it('keeps buckets only for route keys the snapshot has: paths clients make up do not grow the table', async () => {
    const s: Snapshot = { schemaVersion: 1, cluster: 'host', apiServices: [], bundles: [], resources: [], reverseProxies: [rp('a', [['/proxy/a/*', '*']]), rp('root', [['/*', '*']])] };
    const e = encodeSnapshot(s);
    const { table } = await open(e.head, e.body, e.hash);
    for (let i = 0; i < 1000; i++) expect((await loaded(() => table.matchReverseProxy(`/x${i}/y${i}/z`, 'GET')))!.route.name).toBe('root');
    expect((await loaded(() => table.matchReverseProxy('/proxy/a/z', 'GET')))!.route.name).toBe('a');
    // The bound under test is internal: one bucket per key the snapshot has (`/proxy/a` and the short prefixes).
    expect((table as unknown as { buckets: Map<string, unknown> }).buckets.size).toBe(2);
  });

  it('key a path by its first two segments, and a prefix by its two whole segments or as short', () => {
    expect(routeKey('/proxy/ext/x/y')).toBe('/proxy/ext');
    expect(routeKey('/proxy/ext/')).toBe('/proxy/ext');
    expect(routeKey('/proxy/ext')).toBe('/proxy/ext');
    expect(routeKey('/proxy')).toBe('/proxy');
    expect(prefixKey('/proxy/ext/')).toBe('/proxy/ext');
    expect(prefixKey('/proxy/ext/deeper')).toBe('/proxy/ext');
    expect(prefixKey('/proxy/ext')).toBe(SHORT_PREFIXES);
    expect(prefixKey('/proxy/')).toBe(SHORT_PREFIXES);
    expect(prefixKey('/')).toBe(SHORT_PREFIXES);
  });
});

describe('authorization over stored parts', () => {
  const snapshotWith = (authz: Snapshot['authz']): Snapshot => ({ schemaVersion: 1, cluster: 'host', apiServices: [], reverseProxies: [], bundles: [], resources: [], authz });

  it('keeps no entry for a namespace or workspace the snapshot does not have (they come from the request path)', () => {
    const table = RouteTable.of(snapshotWith({
      roles: [{ ref: 'Role/ns1/r', rules: [] }], globalRoleBindings: [], clusterRoleBindings: [], workspaceRoleBindings: {},
      roleBindings: { ns1: [{ name: 'b', role: 0, users: ['u'] }] }, namespaceWorkspaces: {}, users: { u: 'Active' },
    }), 'h');
    for (let i = 0; i < 500; i++) {
      authorizeRequest(table.authz, 'GET', `/kapis/a.io/v1/namespaces/n${i}/pods`, '', 'u', []);
      authorizeRequest(table.authz, 'GET', `/kapis/tenant.kubesphere.io/v1alpha2/workspaces/w${i}/x`, '', 'u', []);
    }
    authorizeRequest(table.authz, 'GET', '/kapis/a.io/v1/namespaces/ns1/pods', '', 'u', []);
    // The bound under test is internal: the per-key caches.
    const caches = table.authz as unknown as { namespaces: Map<string, unknown>; workspaces: Map<string, unknown> };
    expect([caches.namespaces.size, caches.workspaces.size]).toEqual([1, 0]);
  });

  it('a walk over bindings spread across many chunks loads them in a few rounds and decides as in memory', async () => {
    const globalRoleBindings = Array.from({ length: 20_000 }, (_, i) => ({ name: `gb-${i}-${'p'.repeat(60)}`, role: i % 100 === 0 ? i % 7 : null, users: i % 100 === 0 ? ['alice'] : [`other${i}`] }));
    const roles = Array.from({ length: 7 }, (_, r) => ({ ref: `GlobalRole/r${r}-${'q'.repeat(3000)}`, rules: [{ verbs: ['get'], apiGroups: ['x.io'], resources: ['nothing'] }] }));
    const s = snapshotWith({ roles, globalRoleBindings, clusterRoleBindings: [], workspaceRoleBindings: {}, roleBindings: {}, namespaceWorkspaces: {}, users: { alice: 'Active' } });
    const e = encodeSnapshot(s);
    expect(header(e.head).parts.globalRoleBindings!.chunks.length).toBeGreaterThan(100);
    const { table } = await open(e.head, e.body, e.hash);
    let rounds = 0;
    const decide = () => {
      rounds++;
      return authorizeRequest(table.authz, 'GET', '/kapis/a.io/v1/namespaces/ns1/pods', '', 'alice', []);
    };
    const stored = await loaded(decide);
    expect(stored).toEqual(authorizeRequest(RouteTable.of(s, 'h').authz, 'GET', '/kapis/a.io/v1/namespaces/ns1/pods', '', 'alice', []));
    expect(stored.allowed).toBe(false);
    expect(rounds).toBeLessThanOrEqual(6);
  });

  it('users, namespaces and workspaces may be named like Object.prototype members', async () => {
    const IAM = 'iam.kubesphere.io/v1beta1';
    const o = (kind: string, name: string, body: Record<string, unknown>, meta: Record<string, unknown> = {}): RawObject =>
      ({ doc: { apiVersion: kind === 'Namespace' ? 'v1' : IAM, kind, metadata: { name, ...meta }, ...body }, origin: 't' });
    const compiled = compileAuthz([
      o('User', 'constructor', { status: { state: 'Active' } }),
      o('Namespace', 'constructor', {}, { labels: { 'kubesphere.io/workspace': 'prototype' } }),
      o('Role', 'op', { rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['get'] }] }, { namespace: 'constructor' }),
      o('RoleBinding', 'op', { roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'op' }, subjects: [{ kind: 'User', name: 'constructor' }] }, { namespace: 'constructor' }),
      o('WorkspaceRole', 'prototype-viewer', { rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['list'] }] }, { labels: { 'kubesphere.io/workspace': 'prototype' } }),
      o('WorkspaceRoleBinding', 'wb', { roleRef: { apiGroup: 'iam.kubesphere.io', kind: 'WorkspaceRole', name: 'prototype-viewer' }, subjects: [{ kind: 'User', name: 'constructor' }] }, { labels: { 'kubesphere.io/workspace': 'prototype' } }),
    ]);
    const e = encodeSnapshot(snapshotWith(compiled.data));
    const { table } = await open(e.head, e.body, e.hash);
    expect(await loaded(() => table.authz!.userState('constructor'))).toBe('Active');
    expect(await loaded(() => table.authz!.userState('toString'))).toBeUndefined();
    expect(await loaded(() => authorizeRequest(table.authz, 'GET', '/kapis/a.io/v1/namespaces/constructor/pods/p', '', 'constructor', []))).toMatchObject({ allowed: true });
    expect(await loaded(() => authorizeRequest(table.authz, 'GET', '/kapis/a.io/v1/namespaces/constructor/pods', '', 'constructor', []))).toMatchObject({ allowed: true });
  });
});

describe('stored snapshot layout', () => {
  const s = site();
  const e = encodeSnapshot(s);

  it('cuts every part into chunks and reads back the same snapshot', async () => {
    const h = header(e.head);
    expect(isHead(e.head)).toBe(true);
    expect(isHead(Buffer.from(JSON.stringify(s)))).toBe(false);
    expect(h.parts.reverseProxies!.chunks.length).toBeGreaterThan(3);
    expect(h.parts.roleBindings!.chunks.length).toBeGreaterThan(1);
    for (const part of Object.values(h.parts)) for (const c of part!.chunks) expect(c.size).toBeLessThan(CHUNK_BYTES * 2);
    const { parts } = await open(e.head, e.body, e.hash);
    const back = await materialize(parts);
    const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : 1);
    expect(back).toEqual({ ...s, reverseProxies: [...s.reverseProxies].sort(byName), bundles: [...s.bundles].sort((a, b) => (a.link < b.link ? -1 : 1)) });
  });

  it('gives the same bytes and hash for the same snapshot, and another hash when anything changes', () => {
    expect(encodeSnapshot(site())).toEqual(e);
    const changed = site();
    changed.authz!.users.user7 = 'Disabled';
    expect(encodeSnapshot(changed).hash).not.toBe(e.hash);
  });

  it('routes and authorizes exactly as the whole snapshot in memory does', async () => {
    const { table } = await open(e.head, e.body, e.hash);
    const memory = RouteTable.of(s, 'h');
    for (const [path, method] of PATHS) {
      const stored = await loaded(() => table.matchReverseProxy(path, method));
      const mem = memory.matchReverseProxy(path, method);
      expect(stored && { name: stored.route.name, matcher: stored.matcher }).toEqual(mem && { name: mem.route.name, matcher: mem.matcher });
    }
    expect((await loaded(() => table.matchReverseProxy('/proxy/shared/x', 'GET')))!.route.name).toBe('mm-shared');
    expect((await loaded(() => table.matchReverseProxy('/proxy/shared/x', 'PUT')))!.route.name).toBe('aa-shared');
    expect((await loaded(() => table.matchApiService('/kapis/g14.io/v1/x')))).toEqual(memory.matchApiService('/kapis/g14.io/v1/x'));
    expect((await loaded(() => table.matchBundle('/dist/b9/index.js')))!.bundle).toBe('b9');
    for (const user of ['user0', 'user3', 'user50', 'nobody']) {
      expect(await loaded(() => table.authz!.userState(user))).toBe(memory.authz!.userState(user));
      for (const [method, path] of [['GET', '/proxy/x'], ['GET', '/kapis/a.io/v1/namespaces/ns3/things'], ['GET', '/kapis/a.io/v1/namespaces/ns4/things'], ['DELETE', '/kapis/a.io/v1/namespaces/ns0/things/t']]) {
        const stored = await loaded(() => authorizeRequest(table.authz, method!, path!, '', user, ['system:authenticated']));
        expect(stored).toEqual(authorizeRequest(memory.authz, method!, path!, '', user, ['system:authenticated']));
      }
    }
    expect(await loaded(() => authorizeRequest(table.authz, 'GET', '/kapis/a.io/v1/namespaces/ns3/things/t1', '', 'user3', []))).toMatchObject({ allowed: true });
  });

  it('reads only the chunks a request needs: a bundle needs no body, a route one chunk', async () => {
    const { parts, table, bodyReads } = await open(e.head, e.body, e.hash);
    expect((await loaded(() => table.matchBundle('/dist/b1/index.js')))!.bundle).toBe('b1');
    expect(bodyReads()).toBe(0);
    // A bad resources chunk goes unnoticed by routing, which never reads it; the whole snapshot cannot be read.
    const h = header(e.head);
    const c = h.parts.resources!.chunks[0]!;
    const body = Buffer.from(e.body);
    body[c.at + 5]! ^= 1;
    const tampered = await open(e.head, body, e.hash);
    expect((await loaded(() => tampered.table.matchReverseProxy('/proxy/ext-3/a', 'GET')))!.route.name).toBe('rp-003');
    await expect(materialize(tampered.parts)).rejects.toThrow(/resources chunk at body byte \d+ does not match its hash/);
    expect(parts.reverseProxies.length).toBe(403);
  });

  it('refuses a chunk whose bytes were changed, and tells the store', async () => {
    const h = header(e.head);
    const c = h.parts.reverseProxies!.chunks[1]!;
    const body = Buffer.from(e.body);
    body[c.at + 10]! ^= 1;
    const told: Error[] = [];
    const { table } = await open(e.head, body, e.hash, (err) => told.push(err));
    const inChunk = `/proxy/ext-${c.first as number}/x`;
    await expect(loaded(() => table.matchReverseProxy(inChunk, 'GET'))).rejects.toThrow(SnapshotPartError);
    expect(told[0]?.message).toMatch(/reverseProxies chunk at body byte \d+ does not match its hash/);
    // Other chunks still read.
    expect((await loaded(() => table.matchReverseProxy('/proxy/ext-0/x', 'GET')))!.route.name).toBe('rp-000');
  });

  it('refuses a chunk that hashes right but breaks its schema, naming the field', async () => {
    const bad = site();
    (bad.reverseProxies[5] as unknown as { available: string }).available = 'yes';
    const b = encodeSnapshot(bad);
    const { table } = await open(b.head, b.body, b.hash);
    await expect(loaded(() => table.matchReverseProxy('/proxy/ext-5/x', 'GET'))).rejects.toThrow(/reverseProxies chunk at body byte 0 is invalid: \d+\.available Invalid type: Expected boolean/);
  });

  it('on trust of the hash (a cold isolate), uses a chunk at once and checks its schema after the answer', async () => {
    const bad = site();
    (bad.reverseProxies[5] as unknown as { available: string }).available = 'yes';
    const b = encodeSnapshot(bad);
    const told: Error[] = [];
    const invalid = (e: Error) => told.push(e);
    const parts = storedParts(await readHead(b.head, b.hash, invalid), { snapshot: b.hash, body: async () => b.body, invalid, defer: true });
    const table = new RouteTable(parts, b.hash);
    expect((await loaded(() => table.matchReverseProxy('/proxy/ext-5/x', 'GET')))!.route.name).toBe('rp-005');
    expect(told).toEqual([]);
    const after: Promise<unknown>[] = [];
    checkAfterAnswer({ waitUntil: (p) => after.push(p) });
    await Promise.all(after);
    expect(told.map((e) => e.message)).toEqual([expect.stringMatching(/reverseProxies chunk at body byte 0 is invalid: \d+\.available/)]);
    // Nothing is left pending: the next answer has nothing to check.
    checkAfterAnswer({ waitUntil: (p) => after.push(p) });
    expect(after).toHaveLength(1);
  });

  it('refuses a header that does not hash to the pointer, or does not fit its parts', async () => {
    await expect(readHead(e.head, 'f'.repeat(64))).rejects.toThrow(/does not match its hash/);
    const h = header(e.head);
    delete h.parts.routeIndex;
    const off = withHeader(e.head, h);
    await expect(readHead(off.head, off.hash)).rejects.toThrow(/part routeIndex is missing/);
    const h2 = header(e.head);
    delete h2.parts.roles;
    const partial = withHeader(e.head, h2);
    await expect(readHead(partial.head, partial.hash)).rejects.toThrow(/authorization parts are incomplete/);
  });

  it('a chunk outside the stored bytes is refused, not read past the end', async () => {
    const h = header(e.head);
    h.parts.apiServices!.chunks[0]!.at = e.body.length;
    const out = withHeader(e.head, h);
    const { table } = await open(out.head, e.body, out.hash);
    await expect(loaded(() => table.matchApiService('/kapis/g0.io/v1/x'))).rejects.toThrow(/lies outside the stored bytes/);
  });

  it('a head or body larger than a KV value may be is refused before anything is written', () => {
    expect(snapshotTooLarge({ head: { length: 10 }, body: { length: 25 * 1024 * 1024 } })).toBeUndefined();
    expect(snapshotTooLarge({ head: { length: 10 }, body: { length: 25 * 1024 * 1024 + 1 } })).toMatch(/the snapshot's body is 25\.0 MiB, more than the 25 MiB a KV value may hold: nothing was published/);
    expect(snapshotTooLarge({ head: { length: 300 }, body: { length: 10 } }, 200)).toMatch(/the snapshot's head is/);
  });

  it('in memory (layout 1 and tests) behaves as stored', () => {
    const parts = partsOf(s);
    expect(parts.reverseProxies.at(0)!.name).toBe('aa-shared');
    expect(parts.bundles.get('/dist/b3/index.js')!.bundle).toBe('b3');
    expect(parts.authz!.users.get('user1')).toBe('Active');
  });
});
