/**
 * Bundle bytes from KV. Keys are content hashes, so an isolate may keep what it read forever: a small LRU spares
 * KV a read per `/dist` request on a warm isolate. Large bundles are streamed straight from KV instead.
 */
import { bundleKey } from '../model/snapshot';

const MAX_ENTRY = 4 * 1024 * 1024;
const MAX_TOTAL = 32 * 1024 * 1024;
const cache = new Map<string, ArrayBuffer>();
let total = 0;

export async function bundleBody(kv: KVNamespace, hash: string, size: number | undefined): Promise<ArrayBuffer | ReadableStream | null> {
  const hit = cache.get(hash);
  if (hit) {
    cache.delete(hash);
    cache.set(hash, hit);
    return hit;
  }
  if (size !== undefined && size > MAX_ENTRY) return kv.get(bundleKey(hash), 'stream');
  const bytes = await kv.get(bundleKey(hash), 'arrayBuffer');
  if (bytes) remember(hash, bytes);
  return bytes;
}

function remember(hash: string, bytes: ArrayBuffer): void {
  if (bytes.byteLength > MAX_ENTRY) return;
  cache.set(hash, bytes);
  total += bytes.byteLength;
  for (const [key, value] of cache) {
    if (total <= MAX_TOTAL) break;
    cache.delete(key);
    total -= value.byteLength;
  }
}
