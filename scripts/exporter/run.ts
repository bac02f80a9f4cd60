/**
 * One export: read the source, validate, resolve bundle bytes, compile, publish. Any failure before the pointer is
 * written leaves the previous snapshot in force.
 */
import { CLUSTER_NAME, type ResourceReport } from '../../worker/model/snapshot';
import { compileAuthz } from './authz/compile';
import { resolveBundle, type ResolvedAsset } from './bundle-sources';
import { compileSnapshot, type Candidate, type HashedAsset } from './compile';
import { runHealthChecks, shortestInterval } from './health';
import { authzCounts, publish, readPointer, readSnapshot, sha256 } from './publish';
import type { Source } from './sources/source';
import type { KvTarget } from './targets/kv-target';
import { kindOf, nameOf, validate } from './validate';

export interface ExportOptions {
  source: Source;
  target: KvTarget;
  cluster: string;
  clusterOrigin: string | undefined;
}

export interface ExportSummary {
  snapshot: string;
  changed: boolean;
  resources: ResourceReport[];
  counts: Record<string, number>;
  bundleBytes: number;
  written: string[];
  deleted: string[];
  bytesWritten: number;
  ignored: string[];
  /** What authorization data was published (counts), or why none was. */
  iam: Record<string, number> | { missing: string };
  ms: number;
  /** The shortest health-check interval any route asked for: `--watch` re-exports at least this often. */
  probeIntervalMs?: number;
}

export class ExportError extends Error {}

export async function runExport(opts: ExportOptions): Promise<ExportSummary> {
  const started = performance.now();
  if (!CLUSTER_NAME.test(opts.cluster)) throw new ExportError(`--cluster-name ${JSON.stringify(opts.cluster)} must be a DNS label (lower-case letters, digits, "-")`);
  // CLUSTER_ORIGIN may name the cluster (`{cluster}`), as the worker's does.
  opts = { ...opts, clusterOrigin: opts.clusterOrigin?.replaceAll('{cluster}', opts.cluster) };
  const contents = await opts.source.load();
  if (contents.errors.length) {
    throw new ExportError(`the source could not be read completely, nothing was published:\n  ${contents.errors.join('\n  ')}`);
  }

  const candidates: Candidate[] = contents.extensions.map((o) => {
    const kind = kindOf(o.doc) as Candidate['kind'];
    const checked = validate(kind, o.doc);
    return checked.ok
      ? ({ kind, name: checked.value.metadata.name, raw: o.doc, value: checked.value, problems: [], warnings: checked.warnings } as Candidate)
      : ({ kind, name: nameOf(o.doc), raw: o.doc, problems: checked.problems, warnings: [] } as Candidate);
  });

  // Last good bytes per (bundle, link), for sources that fail this time.
  const lastGood = await previousAssets(opts.target, opts.cluster);
  const blobs = new Map<string, Uint8Array>();
  const assets = new Map<string, HashedAsset[]>();
  for (const c of candidates) {
    if (c.kind !== 'JSBundle' || !c.value || c.value.status?.state !== 'Available') continue;
    const resolved = await resolveBundle(c.value, { reader: contents.reader, clusterOrigin: opts.clusterOrigin });
    c.warnings.push(...resolved.warnings);
    assets.set(c.name, resolved.assets.map((a) => hashAsset(a, c.name, lastGood, blobs, c.warnings)));
  }

  const unhealthy = await runHealthChecks(candidates, opts.clusterOrigin);
  const authz = contents.iam ? compileAuthz(contents.iam) : undefined;
  const snapshot = compileSnapshot({ cluster: opts.cluster, candidates, assets, unhealthy, authz });
  const result = await publish(opts.target, snapshot, blobs);
  const counts: Record<string, number> = { APIService: 0, JSBundle: 0, ReverseProxy: 0, withProblems: 0 };
  for (const r of snapshot.resources) {
    if (!(r.kind in counts)) continue;
    counts[r.kind] = (counts[r.kind] ?? 0) + 1;
    if (r.problems.length) counts.withProblems! += 1;
  }
  const iam: ExportSummary['iam'] = authz
    ? { ...authzCounts(authz.data), reported: authz.reports.length }
    : { missing: contents.iamMissing ?? 'the source holds no IAM objects' };
  return {
    snapshot: result.hash,
    changed: result.changed,
    resources: snapshot.resources,
    counts,
    bundleBytes: [...blobs.values()].reduce((n, b) => n + b.byteLength, 0),
    written: result.written,
    deleted: result.deleted,
    bytesWritten: result.bytesWritten,
    ignored: contents.ignored,
    iam,
    ms: Math.round(performance.now() - started),
    probeIntervalMs: shortestInterval(candidates),
  };
}

type LastGood = Map<string, { hash: string; size?: number }>;

async function previousAssets(target: KvTarget, cluster: string): Promise<LastGood> {
  const out: LastGood = new Map();
  const pointer = await readPointer(target, cluster);
  const previous = pointer && (await readSnapshot(target, pointer.snapshot));
  if (!previous) return out;
  const stored = new Set(await target.listKeys('bundle/'));
  for (const b of previous.bundles) {
    if (b.hash && stored.has(`bundle/${b.hash}`)) out.set(`${b.bundle}\n${b.link}`, { hash: b.hash, size: b.size });
  }
  return out;
}

function hashAsset(a: ResolvedAsset, bundle: string, lastGood: LastGood, blobs: Map<string, Uint8Array>, warnings: string[]): HashedAsset {
  if (a.bytes) {
    const hash = sha256(a.bytes);
    blobs.set(hash, a.bytes);
    return { link: a.link, contentType: a.contentType, hash, size: a.bytes.byteLength };
  }
  const good = lastGood.get(`${bundle}\n${a.link}`);
  if (good) {
    warnings.push(`${a.link}: ${a.error}; serving the last good bytes (${good.hash.slice(0, 12)})`);
    return { link: a.link, contentType: a.contentType, hash: good.hash, size: good.size };
  }
  return { link: a.link, contentType: a.contentType, error: a.error };
}
