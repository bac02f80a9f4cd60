/**
 * The local KV state that `wrangler dev` (and the tests' Miniflare) read: `.wrangler/state/v3/kv/<namespace id>`,
 * written through Miniflare's own KV implementation so the on-disk format is always the one wrangler expects.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { KvEntry, KvTarget } from './kv-target';

/** The part of a KV namespace the publisher uses (Miniflare's and Workers' bindings both fit). */
export interface KVLike {
  get(key: string, type: 'text'): Promise<string | null>;
  list(opts: { prefix: string; cursor?: string }): Promise<{ keys: { name: string }[]; list_complete: boolean; cursor?: string }>;
  put(key: string, value: string | ArrayBuffer): Promise<void>;
  delete(key: string): Promise<void>;
}

export const DEFAULT_PERSIST_ROOT = '.wrangler/state/v3';

/** The `id` of the KV binding named `KV` in wrangler.toml: the folder wrangler dev persists it under. */
export function kvNamespaceId(wranglerToml = 'wrangler.toml'): string {
  const text = readFileSync(wranglerToml, 'utf8');
  for (const block of text.split(/^\[\[kv_namespaces\]\]\s*$/m).slice(1)) {
    const body = block.split(/^\[/m)[0]!;
    if (/^\s*binding\s*=\s*"KV"\s*$/m.test(body)) {
      const id = /^\s*id\s*=\s*"([^"]+)"\s*$/m.exec(body)?.[1];
      if (id) return id;
    }
  }
  throw new Error(`${wranglerToml} has no [[kv_namespaces]] entry with binding = "KV" and an id`);
}

export async function localTarget(opts: { persistRoot?: string; namespaceId?: string } = {}): Promise<KvTarget> {
  const root = resolve(opts.persistRoot ?? DEFAULT_PERSIST_ROOT);
  const id = opts.namespaceId ?? kvNamespaceId();
  // Imported here, not at the top: Miniflare is a development tool, absent from the in-cluster exporter bundle.
  const { Miniflare } = await import('miniflare');
  const mf = new Miniflare({
    modules: true,
    script: 'export default { fetch() { return new Response(null, { status: 204 }) } }',
    kvNamespaces: { KV: id },
    kvPersist: join(root, 'kv'),
  });
  const target = kvNamespaceTarget(await mf.getKVNamespace('KV'), `local KV ${join(root, 'kv', id)}`);
  return { ...target, close: () => mf.dispose() };
}

/** Any KV namespace object (Miniflare's, or a worker's binding) as a publish target. */
export function kvNamespaceTarget(kv: KVLike, description: string): KvTarget {
  return {
    description,
    get: (key) => kv.get(key, 'text'),
    async listKeys(prefix) {
      const keys: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await kv.list({ prefix, cursor });
        keys.push(...page.keys.map((k) => k.name));
        cursor = page.list_complete ? undefined : page.cursor;
      } while (cursor);
      return keys;
    },
    async putMany(entries: KvEntry[]) {
      for (const e of entries) await kv.put(e.key, typeof e.value === 'string' ? e.value : new Uint8Array(e.value).buffer);
    },
    async deleteMany(keys) {
      for (const key of keys) await kv.delete(key);
    },
    close: async () => {},
  };
}
