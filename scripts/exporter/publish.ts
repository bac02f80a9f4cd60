/**
 * Publishes a compiled snapshot: bundles, then `snapshot/<hash>`, then the `current` pointer, so the pointer never
 * names missing data. Only keys that changed are written; the newest few snapshots are kept for rollback and
 * everything no kept snapshot references is removed afterwards.
 */
import { createHash } from 'node:crypto';
import * as v from 'valibot';
import type { AuthzData } from '../../worker/model/authz';
import { bundleKey, CURRENT_KEY, Pointer, Snapshot, snapshotKey } from '../../worker/model/snapshot';
import type { KvTarget } from './targets/kv-target';

export const KEEP_SNAPSHOTS = 5;

export const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

export interface PublishResult {
  hash: string;
  changed: boolean;
  written: string[];
  deleted: string[];
  bytesWritten: number;
}

export async function readPointer(target: KvTarget): Promise<Pointer | undefined> {
  const raw = await target.get(CURRENT_KEY);
  if (raw === null) return undefined;
  const parsed = v.safeParse(Pointer, safeJson(raw));
  return parsed.success ? parsed.output : undefined;
}

export async function readSnapshot(target: KvTarget, hash: string): Promise<Snapshot | undefined> {
  const raw = await target.get(snapshotKey(hash));
  if (raw === null) return undefined;
  const parsed = v.safeParse(Snapshot, safeJson(raw));
  return parsed.success ? parsed.output : undefined;
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

export function authzCounts(a: AuthzData): Record<string, number> {
  const count = (r: Record<string, unknown[]>) => Object.values(r).reduce((n, l) => n + l.length, 0);
  return {
    roles: a.roles.length,
    bindings: a.globalRoleBindings.length + a.clusterRoleBindings.length + count(a.workspaceRoleBindings) + count(a.roleBindings),
    users: Object.keys(a.users).length,
    namespaces: Object.keys(a.namespaceWorkspaces).length,
  };
}

export async function publish(
  target: KvTarget,
  snapshot: Snapshot,
  blobs: Map<string, Uint8Array>,
  now = new Date(),
): Promise<PublishResult> {
  const text = JSON.stringify(snapshot);
  const hash = sha256(text);
  const result: PublishResult = { hash, changed: false, written: [], deleted: [], bytesWritten: 0 };
  const previous = await readPointer(target);

  const existing = new Set(await target.listKeys('bundle/'));
  const needed = [...new Set(snapshot.bundles.flatMap((b) => (b.hash ? [b.hash] : [])))];
  const missing = needed.filter((h) => !existing.has(bundleKey(h)));
  for (const h of missing) if (!blobs.has(h)) throw new Error(`bundle ${h} is referenced but its bytes are not at hand`);
  await write(target, result, missing.map((h) => ({ key: bundleKey(h), value: blobs.get(h)! })));

  if (previous?.snapshot !== hash) {
    result.changed = true;
    if ((await target.get(snapshotKey(hash))) === null) await write(target, result, [{ key: snapshotKey(hash), value: text }]);
    const history = previous ? [previous.snapshot, ...(previous.history ?? [])].filter((h) => h !== hash) : [];
    const pointer: Pointer = {
      snapshot: hash, generatedAt: now.toISOString(), cluster: snapshot.cluster, counts: countsOf(snapshot),
      history: history.slice(0, KEEP_SNAPSHOTS - 1),
    };
    await write(target, result, [{ key: CURRENT_KEY, value: JSON.stringify(pointer) }]);
  }
  await prune(target, result);
  return result;
}

async function write(target: KvTarget, result: PublishResult, entries: { key: string; value: string | Uint8Array }[]) {
  if (!entries.length) return;
  await target.putMany(entries);
  for (const e of entries) {
    result.written.push(e.key);
    result.bytesWritten += typeof e.value === 'string' ? Buffer.byteLength(e.value) : e.value.byteLength;
  }
}

/** Removes snapshots outside the pointer's history and bundles no kept snapshot references. */
export async function prune(target: KvTarget, result: Pick<PublishResult, 'deleted'>): Promise<void> {
  const pointer = await readPointer(target);
  if (!pointer) return;
  const kept = new Set([pointer.snapshot, ...(pointer.history ?? [])]);
  const referenced = new Set<string>();
  for (const h of kept) {
    const s = await readSnapshot(target, h);
    for (const b of s?.bundles ?? []) if (b.hash) referenced.add(bundleKey(b.hash));
  }
  const doomed = [
    ...(await target.listKeys('snapshot/')).filter((k) => !kept.has(k.slice('snapshot/'.length))),
    ...(await target.listKeys('bundle/')).filter((k) => !referenced.has(k)),
  ];
  if (!doomed.length) return;
  await target.deleteMany(doomed);
  result.deleted.push(...doomed);
}
