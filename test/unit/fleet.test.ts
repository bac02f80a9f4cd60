/**
 * The fleet's keys (SPEC §10): each cluster's exporter publishes its own pointer into one KV namespace without
 * touching the others'; bundles are shared by content and kept while any cluster keeps them; rollback is per
 * cluster; a deployment from before fleets keeps its `current` key up to date. And the prefixes that name a cluster.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KEEP_SNAPSHOTS, readPointer } from '../../scripts/exporter/publish';
import { rollback } from '../../scripts/exporter/rollback';
import { runExport } from '../../scripts/exporter/run';
import { directorySource } from '../../scripts/exporter/sources/directory';
import { filesTarget } from '../../scripts/exporter/targets/files';
import { membersOf } from '../../scripts/local-gateway';
import { clusterOfPath } from '../../worker/fleet/cluster-prefix';
import { jsBundle } from '../support/gateway';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ks-edge-fleet-'));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

const target = () => filesTarget(join(dir, 'kv'));
async function exportAs(cluster: string, js: string) {
  const folder = join(dir, cluster);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'b.yaml'), jsBundle('b', { raw: Buffer.from(js).toString('base64') }, { labels: { 'kubesphere.io/extension-ref': 'b' } }));
  return runExport({ source: directorySource(folder), target: target(), cluster, clusterOrigin: undefined });
}

describe('one KV namespace, a pointer per cluster', () => {
  it('an export writes only its own pointer; a shared bundle is stored once', async () => {
    const host = await exportAs('host', 'shared();');
    const m1 = await exportAs('member1', 'shared();');
    expect(m1.written.filter((k) => k.startsWith('pointer/'))).toEqual(['pointer/member1']);
    expect(m1.written.filter((k) => k.startsWith('bundle/'))).toEqual([]); // the host's bytes are reused
    expect((await readPointer(target(), 'host'))!.snapshot).toBe(host.snapshot);
    expect((await readPointer(target(), 'member1'))!.snapshot).toBe(m1.snapshot);
  });

  it('pruning keeps what any cluster keeps', async () => {
    await exportAs('member1', 'only-member1();');
    for (let i = 0; i < KEEP_SNAPSHOTS + 2; i++) await exportAs('host', `host${i}();`);
    const m1 = await readPointer(target(), 'member1');
    expect(await target().get(`snapshot/${m1!.snapshot}`)).not.toBeNull();
    expect(await target().listKeys('bundle/')).toHaveLength(KEEP_SNAPSHOTS + 1); // the host's kept ones and member1's
  });

  it('another cluster\'s snapshot that no pointer names yet is not pruned (its exporter may be mid-publication)', async () => {
    await exportAs('host', 'h();');
    const m1 = await exportAs('member1', 'm1();');
    // member1 is between writing its next snapshot and its pointer: simulate by removing the pointer only.
    await target().deleteMany(['pointer/member1']);
    await exportAs('host', 'h2();');
    expect(await target().get(`snapshot/${m1.snapshot}`)).not.toBeNull();
    const bundles = await target().listKeys('bundle/');
    expect(bundles).toHaveLength(3); // member1's, and the host's current and previous ones
  });

  it('a bundle another exporter wrote before its snapshot is not pruned; only bundles of dropped snapshots go', async () => {
    for (let i = 0; i < KEEP_SNAPSHOTS; i++) await exportAs('host', `h${i}();`);
    const early = 'bundle/' + 'f'.repeat(64); // member1 mid-publication: its bundle is written, its snapshot not yet
    await target().putMany([{ key: early, value: 'member1();' }]);
    const next = await exportAs('host', 'h-next();');
    expect(next.deleted.filter((k) => k.startsWith('snapshot/'))).toHaveLength(1);
    expect(next.deleted.filter((k) => k.startsWith('bundle/'))).toHaveLength(1); // the dropped snapshot's own bundle
    expect(await target().get(early)).toBe('member1();');
  });

  it('a shared bundle pruned by another exporter while this one publishes is written again', async () => {
    await exportAs('host', 'shared();');
    const base = target();
    let removed = '';
    const racing = {
      ...base,
      putMany: async (entries: { key: string; value: string | Uint8Array }[]) => {
        await base.putMany(entries);
        if (!removed && entries.some((e) => e.key === 'pointer/member1')) {
          // Another cluster's exporter pruned the bundle right after this one listed it as present.
          removed = (await base.listKeys('bundle/'))[0]!;
          await base.deleteMany([removed]);
        }
      },
    };
    const folder = join(dir, 'member1');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'b.yaml'), jsBundle('b', { raw: Buffer.from('shared();').toString('base64') }, { labels: { 'kubesphere.io/extension-ref': 'b' } }));
    const m1 = await runExport({ source: directorySource(folder), target: racing, cluster: 'member1', clusterOrigin: undefined });
    expect(removed).not.toBe('');
    expect(m1.written).toContain(removed);
    expect(await base.get(removed)).not.toBeNull();
  });

  it('rollback moves one cluster\'s pointer only', async () => {
    const h1 = await exportAs('host', 'a();');
    const h2 = await exportAs('host', 'b();');
    const m = await exportAs('member1', 'c();');
    expect(await rollback(target(), undefined, 'host')).toEqual({ snapshot: h1.snapshot, from: h2.snapshot });
    expect((await readPointer(target(), 'member1'))!.snapshot).toBe(m.snapshot);
    await expect(rollback(target(), undefined, 'member1')).rejects.toThrow('no earlier snapshot');
  });

  it('a deployment from before fleets: the legacy current keeps being updated by the cluster it names', async () => {
    const first = await exportAs('my-cluster', 'v1();');
    await target().putMany([{ key: 'current', value: (await target().get('pointer/my-cluster'))! }]);
    const second = await exportAs('my-cluster', 'v2();');
    expect(JSON.parse((await target().get('current'))!).snapshot).toBe(second.snapshot);
    expect(second.snapshot).not.toBe(first.snapshot);
    await exportAs('member1', 'other();');
    expect(JSON.parse((await target().get('current'))!).snapshot).toBe(second.snapshot); // untouched by another cluster
  });

  it('refuses a cluster name that is not a DNS label', async () => {
    await expect(exportAs('Bad_Name', 'x();')).rejects.toThrow('must be a DNS label');
    expect(() => membersOf('member1=dir,oops')).toThrow('CLUSTERS entry "oops"');
    expect(membersOf('m1=a, m2=b')).toEqual([['m1', 'a'], ['m2', 'b']]);
    expect(() => membersOf('m1=a,m1=b')).toThrow('names "m1" twice');
    expect(() => membersOf('host=a', 'host')).toThrow('host cluster');
  });
});

describe('paths that name a cluster', () => {
  it.each([
    ['/clusters/member1/proxy/x', { cluster: 'member1', path: '/proxy/x' }],
    ['/clusters/member1/kapis/g.io/v1/x', { cluster: 'member1', path: '/kapis/g.io/v1/x' }],
    ['/kapis/clusters/member1/g.io/v1/x', { cluster: 'member1', path: '/kapis/g.io/v1/x' }],
    ['/apis/clusters/m-2/apps/v1/x', { cluster: 'm-2', path: '/apis/apps/v1/x' }],
    ['/api/clusters/host/v1/pods', { cluster: 'host', path: '/api/v1/pods' }],
  ])('%s', (path, out) => expect(clusterOfPath(path)).toEqual(out));
  it.each(['/clusters/member1', '/clusters/Bad_Name/x', '/proxy/clusters/member1/x', '/clusters//x', '/kapis/clusters/member1'])('%s names none', (p) => {
    expect(clusterOfPath(p)).toBeUndefined();
  });
});
