/** Moves a cluster's pointer to an older kept snapshot (the previous one by default); other clusters' stay. */
import { DEFAULT_CLUSTER, type Pointer } from '../../worker/model/snapshot';
import { checkClusterName } from './run';
import { countsOf, pointerEntries, readPointer, readSnapshot } from './publish';
import type { KvTarget } from './targets/kv-target';

export async function rollback(target: KvTarget, to?: string, cluster = DEFAULT_CLUSTER): Promise<{ snapshot: string; from: string }> {
  checkClusterName(cluster);
  const pointer = await readPointer(target, cluster);
  if (!pointer) throw new Error(`nothing to roll back: no pointer for cluster ${JSON.stringify(cluster)}`);
  const history = pointer.history ?? [];
  const wanted = to ? history.find((h) => h === to || h.startsWith(to)) : history[0];
  if (!wanted) throw new Error(to ? `snapshot ${to} is not among the kept ones: ${history.join(', ') || 'none'}` : 'no earlier snapshot is kept');
  const snapshot = await readSnapshot(target, wanted);
  if (!snapshot) throw new Error(`snapshot ${wanted} is missing or invalid in KV`);
  const next: Pointer = {
    snapshot: wanted, generatedAt: new Date().toISOString(), cluster: snapshot.cluster, counts: countsOf(snapshot),
    history: [pointer.snapshot, ...history.filter((h) => h !== wanted)],
  };
  await target.putMany(await pointerEntries(target, next));
  return { snapshot: wanted, from: pointer.snapshot };
}
