/**
 * One export: read the source, validate, resolve bundle bytes, compile, publish. Any failure before the pointer is
 * written leaves the previous snapshot in force.
 */
import { CLUSTER_NAME, type ResourceReport, type Snapshot } from '../../worker/model/snapshot';
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
  /** Where the run is: called at each phase (the CLI shows it on a terminal only). */
  progress?: (line: string) => void;
}

/** What this export changes against the cluster's current snapshot, resource by resource. */
export interface SnapshotDiff { added: string[]; removed: string[]; changed: string[] }

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
  /** Keys this run needed that KV already held. */
  unchanged: number;
  diff: SnapshotDiff;
  /** What authorization data was published (counts), or why none was. */
  iam: Record<string, number> | { missing: string };
  ms: number;
  /** The shortest health-check interval any route asked for: `--watch` re-exports at least this often. */
  probeIntervalMs?: number;
}

export class ExportError extends Error {}

export async function runExport(opts: ExportOptions): Promise<ExportSummary> {
  const started = performance.now();
  checkClusterName(opts.cluster);
  // CLUSTER_ORIGIN may name the cluster (`{cluster}`), as the worker's does.
  opts = { ...opts, clusterOrigin: opts.clusterOrigin?.replaceAll('{cluster}', opts.cluster) };
  const say = opts.progress ?? (() => {});
  say(`reading ${opts.source.description}`);
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
  say(`validated ${candidates.length} extension resources; reading the current snapshot`);
  const { lastGood, previous } = await previousAssets(opts.target, opts.cluster);
  const blobs = new Map<string, Uint8Array>();
  const assets = new Map<string, HashedAsset[]>();
  const bundles = candidates.filter((c) => c.kind === 'JSBundle' && c.value && c.value.status?.state === 'Available');
  for (const [i, c] of bundles.entries()) {
    if (c.kind !== 'JSBundle' || !c.value) continue;
    say(`resolving bundle sources ${i + 1}/${bundles.length}: ${c.name}`);
    const resolved = await resolveBundle(c.value, { reader: contents.reader, clusterOrigin: opts.clusterOrigin });
    c.warnings.push(...resolved.warnings);
    assets.set(c.name, resolved.assets.map((a) => hashAsset(a, c.name, lastGood, blobs, c.warnings)));
  }

  say('probing health checks');
  const unhealthy = await runHealthChecks(candidates, opts.clusterOrigin);
  const authz = contents.iam ? compileAuthz(contents.iam) : undefined;
  const snapshot = compileSnapshot({ cluster: opts.cluster, candidates, assets, unhealthy, authz });
  say(`publishing to ${opts.target.description}`);
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
    unchanged: result.unchanged,
    diff: diffSnapshots(previous, snapshot),
    iam,
    ms: Math.round(performance.now() - started),
    probeIntervalMs: shortestInterval(candidates),
  };
}

type LastGood = Map<string, { hash: string; size?: number }>;

async function previousAssets(target: KvTarget, cluster: string): Promise<{ lastGood: LastGood; previous: Snapshot | undefined }> {
  const lastGood: LastGood = new Map();
  const pointer = await readPointer(target, cluster);
  const previous = pointer && (await readSnapshot(target, pointer.snapshot));
  if (!previous) return { lastGood, previous: undefined };
  const stored = new Set(await target.listKeys('bundle/'));
  for (const b of previous.bundles) {
    if (b.hash && stored.has(`bundle/${b.hash}`)) lastGood.set(`${b.bundle}\n${b.link}`, { hash: b.hash, size: b.size });
  }
  return { lastGood, previous };
}

/** JSON with object keys sorted: the same content gives the same text however it was read. */
const canonical = (x: unknown): string => JSON.stringify(x, (_k, v: unknown) =>
  v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v);

/** Resources by `Kind/name`, with what the edge would do with each (its routes and report), old against new. */
export function diffSnapshots(before: Snapshot | undefined, after: Snapshot): SnapshotDiff {
  const index = (s: Snapshot | undefined) => {
    const out = new Map<string, string>();
    if (!s) return out;
    const routes = new Map<string, unknown[]>();
    for (const r of s.apiServices) routes.set(`APIService/${r.name}`, [r]);
    for (const r of s.reverseProxies) routes.set(`ReverseProxy/${r.name}`, [r]);
    for (const b of s.bundles) routes.set(`JSBundle/${b.bundle}`, [...(routes.get(`JSBundle/${b.bundle}`) ?? []), b]);
    for (const r of s.resources) out.set(`${r.kind}/${r.name}`, canonical([r, routes.get(`${r.kind}/${r.name}`) ?? []]));
    // Roles, bindings and users have no resource report unless they have a problem: their compiled data is one entry.
    if (s.authz) out.set('authorization data', canonical(s.authz));
    return out;
  };
  const a = index(before);
  const b = index(after);
  return {
    added: [...b.keys()].filter((k) => !a.has(k)).sort(),
    removed: [...a.keys()].filter((k) => !b.has(k)).sort(),
    changed: [...b.keys()].filter((k) => a.has(k) && a.get(k) !== b.get(k)).sort(),
  };
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

/** A cluster's name is part of KV keys and paths: a DNS label, as KubeSphere names clusters. */
export function checkClusterName(name: string): void {
  if (!CLUSTER_NAME.test(name)) throw new ExportError(`--cluster-name ${JSON.stringify(name)} must be a DNS label (lower-case letters, digits, "-")`);
}
