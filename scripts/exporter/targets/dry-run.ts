/** Reads from a real target, writes nothing: records what a run would change. */
import type { KvEntry, KvTarget } from './kv-target';

export interface DryRunTarget extends KvTarget { planned: { put: string[]; delete: string[] } }

export function dryRunTarget(inner: KvTarget): DryRunTarget {
  const planned = { put: [] as string[], delete: [] as string[] };
  const staged = new Map<string, string | null>();
  return {
    description: `dry run against ${inner.description}`,
    planned,
    async get(key) {
      if (staged.has(key)) return staged.get(key)!;
      return inner.get(key);
    },
    async listKeys(prefix) {
      const keys = new Set(await inner.listKeys(prefix));
      for (const [k, v] of staged) if (k.startsWith(prefix)) v === null ? keys.delete(k) : keys.add(k);
      return [...keys];
    },
    async putMany(entries: KvEntry[]) {
      for (const e of entries) {
        planned.put.push(e.key);
        staged.set(e.key, typeof e.value === 'string' ? e.value : '');
      }
    },
    async deleteMany(keys) {
      for (const k of keys) {
        planned.delete.push(k);
        staged.set(k, null);
      }
    },
    close: () => inner.close(),
  };
}
