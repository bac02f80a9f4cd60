/** SPEC §7: the snapshot in isolate memory, refreshed off the request path; bad reads keep the last good table. */
import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { apiService, jsBundle, reverseProxy, startGateway, type Gateway } from '../support/gateway';
import { encodeSnapshot } from '../../scripts/exporter/snapshot-encode';
import { startUpstream, type Upstream } from '../support/upstream';

let gw: Gateway | undefined;
let up: Upstream | undefined;
let core: Upstream | undefined;
afterEach(async () => {
  await gw?.close();
  await up?.close();
  await core?.close();
  gw = up = core = undefined;
});

const status = async (g: Gateway) => (await (await g.fetch('/_gateway/status')).json()) as {
  snapshot: { hash: string; ageSeconds: number; counts: Record<string, number> } | null;
  lastError: string | null;
  kvReads: number;
  resources: { kind: string; name: string; state: string; routes: string[]; problems: string[] }[];
};

async function eventually<T>(probe: () => Promise<T>, ok: (t: T) => boolean, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const t = await probe();
    if (ok(t) || Date.now() > until) return t;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Points the host at a snapshot by hand, as a broken or foreign exporter might. */
const pointTo = (kv: { put(key: string, value: string): Promise<unknown> }, hash: string, cluster = 'host') =>
  kv.put('pointer/host', JSON.stringify({ snapshot: hash, generatedAt: new Date().toISOString(), cluster, counts: {} }));

/** A compiled ReverseProxy route written out by hand (`available` may be made wrong on purpose). */
const rawRoute = (name: string, origin: string, available: unknown = true) => ({
  name, available, policy: { allowAnonymous: false, timeoutMs: 30000 }, upstream: { origin }, matchers: [{ path: `/proxy/${name}/*`, method: '*' }],
  directives: { headerUp: [], headerDown: [], rewrite: [], replace: [], pathRegexp: [], authProxy: false, wrapTransport: false, rejectForwardingRedirects: false },
});

describe('snapshot loading', () => {
  it('a warm isolate makes no KV read per request', async () => {
    up = await startUpstream();
    gw = await startGateway({ manifests: reverseProxy('p', { matcher: { path: '/proxy/p/*' }, upstream: { url: up.origin } }) });
    await gw.fetch('/proxy/p/warm');
    const before = (await status(gw)).kvReads;
    for (let i = 0; i < 50; i++) expect((await gw.fetch(`/proxy/p/${i}`)).status).toBe(200);
    expect((await status(gw)).kvReads).toBe(before);
  });

  it('picks up a new snapshot after the refresh interval, without a restart', async () => {
    up = await startUpstream();
    gw = await startGateway({
      manifests: reverseProxy('p', { matcher: { path: '/proxy/p/*' }, upstream: { url: up.origin } }),
      vars: { SNAPSHOT_REFRESH_SECONDS: '0' },
    });
    expect((await gw.fetch('/proxy/q/x')).status).toBe(404);
    await gw.publish(reverseProxy('q', { matcher: { path: '/proxy/q/*' }, upstream: { url: up.origin } }));
    const res = await eventually(() => gw!.fetch('/proxy/q/x'), (r) => r.status === 200);
    expect(res.status).toBe(200);
    expect((await gw.fetch('/proxy/p/x')).status).toBe(404);
    expect((await status(gw)).snapshot!.hash).toBe(gw.lastExport.snapshot);
  });

  it('a pointer to a missing or corrupt snapshot keeps the last good table and says why', async () => {
    up = await startUpstream();
    gw = await startGateway({
      manifests: reverseProxy('p', { matcher: { path: '/proxy/p/*' }, upstream: { url: up.origin } }),
      vars: { SNAPSHOT_REFRESH_SECONDS: '0' },
    });
    expect((await gw.fetch('/proxy/p/x')).status).toBe(200);
    const kv = await gw.mf.getKVNamespace('KV');
    const garbage = '{"schemaVersion": 99}';
    const hash = createHash('sha256').update(garbage).digest('hex');
    await kv.put(`snapshot/${hash}`, garbage);
    await pointTo(kv, hash, 'x');
    const s = await eventually(() => status(gw!), (st) => st.lastError !== null);
    expect(s.lastError).toContain(`snapshot ${hash} is invalid`);
    expect((await gw.fetch('/proxy/p/x')).status).toBe(200);

    await kv.put('pointer/host', 'not json at all');
    await eventually(() => status(gw!), (st) => st.lastError?.includes('JSON') ?? false);
    expect((await gw.fetch('/proxy/p/x')).status).toBe(200);
  });

  it('a snapshot whose bytes do not match its key\'s SHA-256 is refused, not loaded', async () => {
    up = await startUpstream();
    gw = await startGateway({
      manifests: reverseProxy('p', { matcher: { path: '/proxy/p/*' }, upstream: { url: up.origin } }),
      vars: { SNAPSHOT_REFRESH_SECONDS: '0' },
    });
    const kv = await gw.mf.getKVNamespace('KV');
    // A valid snapshot (routing /proxy/q) stored under the hash of other bytes.
    const other = await gw.publish(reverseProxy('q', { matcher: { path: '/proxy/q/*' }, upstream: { url: up.origin } }));
    const text = (await kv.get(`snapshot/${other.snapshot}`, 'text'))!;
    await gw.publish(reverseProxy('p', { matcher: { path: '/proxy/p/*' }, upstream: { url: up.origin } }));
    expect((await eventually(() => gw!.fetch('/proxy/p/x'), (r) => r.status === 200)).status).toBe(200);
    const forged = createHash('sha256').update('something else').digest('hex');
    await kv.put(`snapshot/${forged}`, text);
    await pointTo(kv, forged, 'x');
    const s = await eventually(() => status(gw!), (st) => st.lastError !== null);
    expect(s.lastError).toContain('does not match its hash');
    expect((await gw.fetch('/proxy/q/x')).status).toBe(404);
    expect((await gw.fetch('/proxy/p/x')).status).toBe(200);
  });

  it('a layout-1 snapshot (one document, from an exporter before layout 2) that fails the field checks is refused with the reason', async () => {
    gw = await startGateway({ manifests: '', empty: true, vars: { SNAPSHOT_REFRESH_SECONDS: '3600' } });
    const kv = await gw.mf.getKVNamespace('KV');
    // Right shape and hash, but a route without a name: what only the field-by-field check catches.
    const bad = JSON.stringify({ schemaVersion: 1, cluster: 'host', apiServices: [{ group: 'g.io', version: 'v1' }], reverseProxies: [], bundles: [], resources: [] });
    const hash = createHash('sha256').update(bad).digest('hex');
    await kv.put(`snapshot/${hash}`, bad);
    await pointTo(kv, hash);
    await gw.fetch('/_gateway/healthz');
    const s = await eventually(() => status(gw!), (st) => st.lastError !== null);
    expect(s.lastError).toContain(`snapshot ${hash} is invalid`);
    expect((await gw.fetch('/_gateway/healthz')).status).toBe(503);
  });

  it('counts KV reads: three on a cold load (the pointer, the snapshot head and body), none per request, one background look per refresh interval (seconds)', async () => {
    up = await startUpstream();
    gw = await startGateway({ manifests: reverseProxy('p', { matcher: { path: '/proxy/p/*' }, upstream: { url: up.origin } }), vars: { SNAPSHOT_REFRESH_SECONDS: '2' } });
    const counters = async () => {
      const st = (await (await gw!.fetch('/_gateway/status')).json()) as { kvReads: number; backgroundKvReads: number };
      return { cold: st.kvReads, background: st.backgroundKvReads };
    };
    expect(await counters()).toEqual({ cold: 3, background: 0 });
    for (let i = 0; i < 20; i++) await gw.fetch('/proxy/p/x');
    expect(await counters()).toEqual({ cold: 3, background: 0 });
    await new Promise((r) => setTimeout(r, 2100));
    await gw.fetch('/proxy/p/x');
    expect(await eventually(counters, (c) => c.background === 1)).toEqual({ cold: 3, background: 1 });
  });

  it('a layout-1 snapshot from an earlier exporter is still served', async () => {
    up = await startUpstream();
    gw = await startGateway({ manifests: '', empty: true, vars: { SNAPSHOT_REFRESH_SECONDS: '3600' } });
    const kv = await gw.mf.getKVNamespace('KV');
    const text = JSON.stringify({ schemaVersion: 1, cluster: 'host', apiServices: [], reverseProxies: [rawRoute('old', up.origin)], bundles: [], resources: [] });
    const hash = createHash('sha256').update(text).digest('hex');
    await kv.put(`snapshot/${hash}`, text);
    await pointTo(kv, hash);
    expect((await gw.fetch('/proxy/old/x')).status).toBe(200);
    expect(up.seen.map((r) => r.url)).toEqual(['/proxy/old/x']);
  });

  it('on a cold isolate, health and bundles answer from the snapshot head alone; routes need the body', async () => {
    up = await startUpstream();
    gw = await startGateway({
      manifests: reverseProxy('p', { matcher: { path: '/proxy/p/*' }, upstream: { url: up.origin } }) + jsBundle('b', { raw: Buffer.from('bundle();').toString('base64') }),
      vars: { SNAPSHOT_REFRESH_SECONDS: '3600' },
    });
    const kv = await gw.mf.getKVNamespace('KV');
    await kv.delete(`snapshot-body/${gw.lastExport.snapshot}`);
    const health = await gw.fetch('/_gateway/healthz');
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', snapshot: gw.lastExport.snapshot });
    const js = await gw.fetch('/dist/b/index.js');
    expect(js.status).toBe(200);
    expect(await js.text()).toBe('bundle();');
    const route = await gw.fetch('/proxy/p/x');
    expect(route.status).toBe(503);
    expect(((await route.json()) as { ErrStatus: { message: string } }).ErrStatus.message).toContain(`snapshot-body/${gw.lastExport.snapshot}`);
    expect(up.seen).toEqual([]);
    // The snapshot is dropped and remembered as bad.
    expect((await gw.fetch('/_gateway/healthz')).status).toBe(503);
  });

  const badRoute = (origin: string) => encodeSnapshot({
    schemaVersion: 1, cluster: 'host', apiServices: [], bundles: [], resources: [],
    reverseProxies: [rawRoute('bad', origin, 'yes') as never],
  });
  const putSnapshot = async (g: Gateway, stored: ReturnType<typeof encodeSnapshot>) => {
    const kv = await g.mf.getKVNamespace('KV');
    await kv.put(`snapshot-body/${stored.hash}`, stored.body.toString());
    await kv.put(`snapshot/${stored.hash}`, stored.head.toString());
    await pointTo(kv, stored.hash);
  };

  it('a cold isolate uses a chunk once it matches its hash, checks its schema after the answer, and drops a snapshot that fails', async () => {
    up = await startUpstream();
    gw = await startGateway({ manifests: '', empty: true, vars: { SNAPSHOT_REFRESH_SECONDS: '3600' } });
    const stored = badRoute(up.origin);
    await putSnapshot(gw, stored);
    // Trusted on its hash (the exporter wrote it): the first request is served…
    expect((await gw.fetch('/proxy/bad/x')).status).toBe(200);
    // …and the check that follows the answer drops the snapshot, saying which field.
    const s = await eventually(() => status(gw!), (st) => st.lastError !== null);
    expect(s.lastError).toMatch(new RegExp(`snapshot ${stored.hash}: reverseProxies chunk at body byte 0 is invalid: 0\\.available`));
    expect((await gw.fetch('/_gateway/healthz')).status).toBe(503);
    expect((await gw.fetch('/proxy/bad/x')).status).not.toBe(200);
    expect(up.seen).toHaveLength(1);
  });

  it('a warm isolate checks every chunk of a new snapshot before it replaces a working table', async () => {
    up = await startUpstream();
    gw = await startGateway({
      manifests: reverseProxy('p', { matcher: { path: '/proxy/p/*' }, upstream: { url: up.origin } }),
      vars: { SNAPSHOT_REFRESH_SECONDS: '0' },
    });
    expect((await gw.fetch('/proxy/p/x')).status).toBe(200);
    const stored = badRoute(up.origin);
    await putSnapshot(gw, stored);
    const s = await eventually(() => status(gw!), (st) => st.lastError !== null);
    expect(s.lastError).toMatch(/reverseProxies chunk at body byte 0 is invalid: 0\.available/);
    expect((await gw.fetch('/proxy/p/x')).status).toBe(200);
    expect((await gw.fetch('/proxy/bad/x')).status).toBe(404);
    expect(up.seen.map((r) => r.url)).toEqual(['/proxy/p/x', '/proxy/p/x']);
  });

  it('with no snapshot at all, extension paths answer 503 and CORE_ORIGIN still works', async () => {
    core = await startUpstream();
    gw = await startGateway({ manifests: '', empty: true, vars: { CORE_ORIGIN: core.origin } });
    const api = await gw.fetch('/kapis/demo.io/v1/x');
    expect(api.status).toBe(503);
    expect(((await api.json()) as { ErrStatus: { message: string } }).ErrStatus.message).toContain('no snapshot published yet');
    expect((await gw.fetch('/dist/x/index.js')).status).toBe(503);
    expect((await gw.fetch('/console/x')).status).toBe(200);
    expect(core.seen.map((s) => s.url)).toEqual(['/console/x']);
    expect((await gw.fetch('/_gateway/healthz')).status).toBe(503);
  });
});

describe('/_gateway endpoints', () => {
  it('healthz is 200 when serving; status lists every resource with its problems', async () => {
    up = await startUpstream();
    gw = await startGateway({
      manifests: [
        reverseProxy('ok', { matcher: { path: '/proxy/ok/*' }, upstream: { url: up.origin } }),
        reverseProxy('bad', { matcher: { path: '/proxy/bad/*' }, upstream: { url: up.origin }, directives: { rewrite: ['only-one-field'] } }),
        apiService('api', { group: 'g.io', version: 'v1', url: up.origin }, {}, 'Disabled'),
      ].join(''),
    });
    const health = await gw.fetch('/_gateway/healthz');
    expect(health.status).toBe(200);
    const s = await status(gw);
    expect(s.snapshot!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(s.snapshot!.ageSeconds).toBeGreaterThanOrEqual(0);
    const byName = Object.fromEntries(s.resources.map((r) => [r.name, r]));
    expect(byName.ok).toMatchObject({ kind: 'ReverseProxy', state: 'Available', routes: ['* /proxy/ok/*'], problems: [] });
    expect(byName.bad!.problems[0]).toContain('rewrite "only-one-field"');
    expect(byName.api).toMatchObject({ kind: 'APIService', state: 'Disabled', routes: ['/kapis/g.io/v1/*'] });
  });
});
