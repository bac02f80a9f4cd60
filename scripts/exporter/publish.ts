/**
 * Publishes a compiled snapshot: bundles, then `snapshot/<hash>`, then the cluster's pointer, so the pointer never
 * names missing data. Only keys that changed are written; the newest few snapshots are kept for rollback and
 * everything no kept snapshot references is removed afterwards.
 */
import { createHash } from 'node:crypto';
import * as v from 'valibot';
import { authzCounts } from '../../worker/model/authz';

export { authzCounts };
import { bundleKey, CURRENT_KEY, DEFAULT_CLUSTER, Pointer, POINTER_PREFIX, pointerKey, Snapshot, snapshotKey } from '../../worker/model/snapshot';
import type { KvTarget } from './targets/kv-target';
import type { BundleAsset } from '../../worker/model/snapshot';
import { bodyKey } from '../../worker/model/snapshot-layout';
import { loaded, SnapshotPartError } from '../../worker/snapshot/lazy-part';
import { isHead, materialize, partsOf, readHead, type SnapshotParts, storedParts } from '../../worker/snapshot/snapshot-parts';
import { encodeSnapshot } from './snapshot-encode';
import { KV_VALUE_LIMIT } from './fetch-source';

export const KEEP_SNAPSHOTS = 5;

export const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

export interface PublishResult {
  hash: string;
  changed: boolean;
  /** Keys this publication needed that KV already held (bundles, the snapshot, the pointer). */
  unchanged: number;
  written: string[];
  deleted: string[];
  bytesWritten: number;
}

async function readPointerAt(target: KvTarget, key: string): Promise<Pointer | undefined> {
  const raw = await target.get(key);
  if (raw === null) return undefined;
  const parsed = v.safeParse(Pointer, safeJson(raw));
  return parsed.success ? parsed.output : undefined;
}

/** A cluster's pointer: `pointer/<cluster>`, else the legacy `current` when it names this cluster. */
export async function readPointer(target: KvTarget, cluster = DEFAULT_CLUSTER): Promise<Pointer | undefined> {
  const own = await readPointerAt(target, pointerKey(cluster));
  if (own) return own;
  const legacy = await readPointerAt(target, CURRENT_KEY);
  return legacy?.cluster === cluster ? legacy : undefined;
}

/** Every cluster's pointer (and the legacy one), for pruning what no cluster keeps. */
export async function allPointers(target: KvTarget): Promise<Pointer[]> {
  const keys = [...(await target.listKeys(POINTER_PREFIX)), CURRENT_KEY];
  return (await Promise.all(keys.map((k) => readPointerAt(target, k)))).filter((p): p is Pointer => p !== undefined);
}

/**
 * Writes a cluster's pointer: `pointer/<cluster>`, and the legacy `current` too while that still names this
 * cluster (a deployment from before fleets keeps working, its worker reading `current`, until it moves over).
 */
export async function pointerEntries(target: KvTarget, pointer: Pointer): Promise<{ key: string; value: string }[]> {
  const value = JSON.stringify(pointer);
  const entries = [{ key: pointerKey(pointer.cluster), value }];
  const legacy = await readPointerAt(target, CURRENT_KEY);
  if (legacy?.cluster === pointer.cluster) entries.push({ key: CURRENT_KEY, value });
  return entries;
}

/** A stored snapshot, whole and checked (every chunk against its hash and schema); undefined when unreadable. */
export async function readSnapshot(target: KvTarget, hash: string): Promise<Snapshot | undefined> {
  const parts = await readParts(target, hash);
  return parts && (await materialize(parts).catch(() => undefined));
}

/** What pruning needs of a snapshot, from its head alone: its cluster and the bundles it references. */
async function readBundleRefs(target: KvTarget, hash: string): Promise<{ cluster: string; bundles: BundleAsset[] } | undefined> {
  const parts = await readParts(target, hash);
  if (!parts) return undefined;
  const bundles = await loaded(() => parts.bundles.entries()).catch(() => undefined);
  return bundles && { cluster: parts.cluster, bundles: bundles.map(([, b]) => b) };
}

/** A stored snapshot's parts (layout 2 reads its body only when a part in it is asked for; layout 1 whole). */
async function readParts(target: KvTarget, hash: string): Promise<SnapshotParts | undefined> {
  const raw = await target.get(snapshotKey(hash));
  if (raw === null) return undefined;
  const bytes = Buffer.from(raw);
  if (!isHead(bytes)) {
    const parsed = v.safeParse(Snapshot, safeJson(raw));
    return parsed.success ? partsOf(parsed.output) : undefined;
  }
  const head = await readHead(bytes, hash).catch(() => undefined);
  if (!head) return undefined;
  let body: Promise<Uint8Array> | undefined;
  const readBody = async () => {
    const text = await target.get(bodyKey(hash));
    if (text === null) throw new SnapshotPartError(`snapshot ${hash}: its body is missing`);
    return Buffer.from(text);
  };
  return storedParts(head, { snapshot: hash, body: () => (body ??= readBody()), invalid: () => {} });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function countsOf(s: Snapshot): Record<string, number> {
  return {
    apiServices: s.apiServices.length,
    reverseProxies: s.reverseProxies.length,
    bundleLinks: s.bundles.length,
    resources: s.resources.length,
    withProblems: s.resources.filter((r) => r.problems.length > 0).length,
    ...(s.authz ? authzCounts(s.authz) : {}),
  };
}


export async function publish(
  target: KvTarget,
  snapshot: Snapshot,
  blobs: Map<string, Uint8Array>,
  now = new Date(),
): Promise<PublishResult> {
  const stored = encodeSnapshot(snapshot);
  const hash = stored.hash;
  const tooLarge = snapshotTooLarge(stored);
  if (tooLarge) throw new Error(tooLarge);
  const result: PublishResult = { hash, changed: false, unchanged: 0, written: [], deleted: [], bytesWritten: 0 };
  const previous = await readPointer(target, snapshot.cluster);

  const existing = new Set(await target.listKeys('bundle/'));
  const needed = [...new Set(snapshot.bundles.flatMap((b) => (b.hash ? [b.hash] : [])))];
  const missing = needed.filter((h) => !existing.has(bundleKey(h)));
  for (const h of missing) if (!blobs.has(h)) throw new Error(`bundle ${h} is referenced but its bytes are not at hand`);
  await write(target, result, missing.map((h) => ({ key: bundleKey(h), value: blobs.get(h)! })));
  result.unchanged += needed.length - missing.length;

  // Also when only the legacy `current` holds this cluster's pointer: its own key is written on the next run.
  if (previous?.snapshot !== hash || (await target.get(pointerKey(snapshot.cluster))) === null) {
    result.changed = true;
    // The body before the head (one request where the target allows), both before the pointer.
    const entries = [{ key: bodyKey(hash), value: stored.body }, { key: snapshotKey(hash), value: stored.head }];
    const missing = (await Promise.all(entries.map(async (e) => ((await target.get(e.key)) === null ? [e] : [])))).flat();
    await write(target, result, missing);
    result.unchanged += entries.length - missing.length;
    const history = previous ? [previous.snapshot, ...(previous.history ?? [])].filter((h) => h !== hash) : [];
    const pointer: Pointer = {
      snapshot: hash, generatedAt: now.toISOString(), cluster: snapshot.cluster, counts: countsOf(snapshot),
      history: history.slice(0, KEEP_SNAPSHOTS - 1),
    };
    await write(target, result, await pointerEntries(target, pointer));
  } else result.unchanged += 3; // the snapshot's head and body, and the pointer
  if (result.changed) {
    await prune(target, result, snapshot.cluster);
    // Another cluster's exporter may have pruned a shared bundle between our listing and our snapshot: put it back.
    const now = new Set(await target.listKeys('bundle/'));
    await write(target, result, needed.filter((h) => !now.has(bundleKey(h))).map((h) => ({ key: bundleKey(h), value: blobs.get(h) ?? missingBytes(h) })));
  }
  return result;
}

/** A snapshot KV cannot hold: its head or body is over the 25 MiB a KV value may hold. */
export function snapshotTooLarge(s: { head: { length: number }; body: { length: number } }, limit = KV_VALUE_LIMIT): string | undefined {
  for (const [part, bytes] of [['head', s.head.length], ['body', s.body.length]] as const) {
    if (bytes > limit) return `the snapshot's ${part} is ${(bytes / 1024 / 1024).toFixed(1)} MiB, more than the ${limit / 1024 / 1024} MiB a KV value may hold: nothing was published`;
  }
  return undefined;
}

function missingBytes(hash: string): never {
  throw new Error(`bundle ${hash} was removed by another exporter while this one published, and its bytes are not at hand`);
}

async function write(target: KvTarget, result: PublishResult, entries: { key: string; value: string | Uint8Array }[]) {
  if (!entries.length) return;
  await target.putMany(entries);
  for (const e of entries) {
    result.written.push(e.key);
    result.bytesWritten += typeof e.value === 'string' ? Buffer.byteLength(e.value) : e.value.byteLength;
  }
}

/**
 * Removes this cluster's snapshots that its pointer no longer keeps (current or history), and the bundles only
 * they referenced. Nothing else is removed: another cluster's snapshot that no pointer names yet (its exporter may
 * be between writing it and its pointer, as clusters export at the same time), a snapshot this exporter cannot read
 * (a newer exporter's), and a bundle no snapshot references yet (another exporter writes bundles first). A bundle
 * orphaned by a run that stopped half-way therefore stays; publish() rewrites any of its own that a concurrent
 * prune removed.
 */
export async function prune(target: KvTarget, result: Pick<PublishResult, 'deleted'>, cluster = DEFAULT_CLUSTER): Promise<void> {
  const pointers = await allPointers(target);
  if (!pointers.length) return;
  const kept = new Set(pointers.flatMap((p) => [p.snapshot, ...(p.history ?? [])]));
  const referenced = new Set<string>();
  const dropped = new Set<string>();
  const doomed: string[] = [];
  const bodies = new Set(await target.listKeys('snapshot-body/'));
  for (const key of await target.listKeys('snapshot/')) {
    const id = key.slice('snapshot/'.length);
    const s = await readBundleRefs(target, id);
    const bundles = (s?.bundles ?? []).flatMap((b) => (b.hash ? [bundleKey(b.hash)] : []));
    const mine = s?.cluster === cluster && !kept.has(id);
    if (mine) doomed.push(key, ...(bodies.has(bodyKey(id)) ? [bodyKey(id)] : []));
    for (const b of bundles) (mine ? dropped : referenced).add(b);
  }
  doomed.push(...[...dropped].filter((k) => !referenced.has(k)));
  if (!doomed.length) return;
  await target.deleteMany(doomed);
  result.deleted.push(...doomed);
}
