/** The exporter end to end against the local KV target: write order, idempotence, failure, pruning, rollback. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KEEP_SNAPSHOTS, readPointer } from '../../scripts/exporter/publish';
import { rollback } from '../../scripts/exporter/rollback';
import { ExportError, runExport } from '../../scripts/exporter/run';
import { directorySource } from '../../scripts/exporter/sources/directory';
import { dryRunTarget } from '../../scripts/exporter/targets/dry-run';
import type { KvTarget } from '../../scripts/exporter/targets/kv-target';
import { localTarget } from '../../scripts/exporter/targets/local';

let dir: string;
let target: KvTarget;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ks-edge-exporter-'));
  target = await localTarget({ persistRoot: join(dir, 'state'), namespaceId: 'kv' });
});
afterEach(async () => {
  await target.close();
  await rm(dir, { recursive: true, force: true });
});

const bundle = (name: string, js: string) => `---
apiVersion: extensions.kubesphere.io/v1alpha1
kind: JSBundle
metadata: { name: ${name} }
spec: { raw: ${Buffer.from(js).toString('base64')} }
status: { state: Available }
`;
const run = async (yaml: string, t: KvTarget = target) => {
  await writeFile(join(dir, 'm.yaml'), yaml);
  return runExport({ source: directorySource(dir), target: t, cluster: 'host', clusterOrigin: undefined });
};

describe('exporter', () => {
  it('writes bundles, snapshot, then pointer; an unchanged re-export writes nothing', async () => {
    const first = await run(bundle('a', 'a();'));
    expect(first.written.map((k) => k.split('/')[0])).toEqual(['bundle', 'snapshot-body', 'snapshot', 'pointer']);
    const second = await run(bundle('a', 'a();'));
    expect(second.written).toEqual([]);
    expect(second.deleted).toEqual([]);
    expect(second.snapshot).toBe(first.snapshot);
    expect(second.changed).toBe(false);
  });

  it('reads multi-document files and List kinds', async () => {
    const list = `apiVersion: v1\nkind: List\nitems:\n${bundle('b', 'b();').replace('---\n', '').split('\n').filter(Boolean).map((l, i) => (i === 0 ? '- ' : '  ') + l).join('\n')}\n`;
    await writeFile(join(dir, 'list.yaml'), list);
    const s = await run(bundle('a', 'a();') + bundle('c', 'c();'));
    expect(s.resources.map((r) => r.name).sort()).toEqual(['a', 'b', 'c']);
  });

  it('a file that does not parse fails the run and leaves the previous snapshot in force', async () => {
    const first = await run(bundle('a', 'a();'));
    await expect(run('kind: [unclosed')).rejects.toThrow(ExportError);
    await expect(run('kind: [unclosed')).rejects.toThrow(/m\.yaml#1/);
    expect((await readPointer(target))!.snapshot).toBe(first.snapshot);
  });

  it('keeps the newest snapshots for rollback and removes what nothing references', async () => {
    const hashes: string[] = [];
    for (let i = 0; i < KEEP_SNAPSHOTS + 2; i++) hashes.push((await run(bundle('a', `v${i}();`))).snapshot);
    const snapshots = await target.listKeys('snapshot/');
    expect(snapshots.sort()).toEqual(hashes.slice(-KEEP_SNAPSHOTS).map((h) => `snapshot/${h}`).sort());
    expect(await target.listKeys('bundle/')).toHaveLength(KEEP_SNAPSHOTS);
    const back = await rollback(target);
    expect(back).toEqual({ snapshot: hashes.at(-2), from: hashes.at(-1) });
    expect((await readPointer(target))!.snapshot).toBe(hashes.at(-2));
    // The snapshot rolled back from stays kept, first in the history: rolling forward again is possible.
    expect((await readPointer(target))!.history![0]).toBe(hashes.at(-1));
    expect(await target.get(`snapshot/${hashes.at(-1)}`)).not.toBeNull();
    expect(await rollback(target, hashes.at(-1))).toEqual({ snapshot: hashes.at(-1), from: hashes.at(-2) });
    await expect(rollback(target, 'ffff')).rejects.toThrow(/not among the kept ones/);
  });

  it('a dry run reports what would change and writes nothing', async () => {
    await run(bundle('a', 'a();'));
    const before = await readPointer(target);
    const dry = dryRunTarget(target);
    const s = await run(bundle('a', 'changed();'), dry);
    expect(dry.planned.put.map((k) => k.split('/')[0])).toEqual(['bundle', 'snapshot-body', 'snapshot', 'pointer']);
    expect(dry.planned.delete).toEqual([]); // the previous snapshot is kept for rollback
    expect(s.changed).toBe(true);
    expect(await readPointer(target)).toEqual(before);
    expect(await target.listKeys('snapshot/')).toEqual([`snapshot/${before!.snapshot}`]);
    expect(await target.listKeys('bundle/')).toHaveLength(1);
  });

  it('reports every problem with kind and name, and still publishes the rest', async () => {
    const s = await run(bundle('good', 'g();') + `---
apiVersion: extensions.kubesphere.io/v1alpha1
kind: ReverseProxy
metadata: { name: bad-proxy }
spec: { matcher: { path: /proxy/p }, upstream: { url: "http://a" }, directives: { rewrite: ["a b c"] } }
status: { state: Available }
`);
    const bad = s.resources.find((r) => r.name === 'bad-proxy')!;
    expect(bad.kind).toBe('ReverseProxy');
    expect(bad.problems[0]).toMatch(/^rewrite "a b c": expected/);
    expect(s.counts).toMatchObject({ JSBundle: 1, ReverseProxy: 1, withProblems: 1 });
  });
});
