/**
 * `ks-edge.io/cache: "<duration>"` (at most 7d) and `ks-edge.io/cache-key: shared|user` on an APIService or a
 * ReverseProxy: its GET and HEAD answers are kept in Cloudflare's cache at each location (worker/cache/). Parsed at
 * export time; `version` is the exporter's digest of the compiled route, so a changed manifest never meets an old
 * answer.
 */
import * as v from 'valibot';

export const CacheRule = v.object({
  /** The longest an answer is kept; the upstream's own max-age / s-maxage wins when shorter. */
  ttlMs: v.number(),
  /** `shared`: one copy for every caller authorization lets through; `user`: one per user. */
  key: v.picklist(['shared', 'user']),
  /** Digest of the compiled route (upstream, directives, policy), set by the exporter. */
  version: v.string(),
});
export type CacheRule = v.InferOutput<typeof CacheRule>;

export const MAX_CACHE_MS = 7 * 86_400_000;

/** `"300s"`, `"1h"`, `"7d"`: a duration of at least one second and at most seven days. */
export function parseCacheTtl(text: string): number {
  const m = /^\s*(\d+)(s|m|h|d)\s*$/.exec(text);
  if (!m) throw new Error('expected a duration such as "300s", "10m", "1h" or "7d"');
  const ms = Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  if (ms < 1000 || ms > MAX_CACHE_MS) throw new Error('must be from 1s to 7d');
  return ms;
}

export function parseCacheKey(text: string): CacheRule['key'] {
  if (text !== 'shared' && text !== 'user') throw new Error('expected "shared" or "user"');
  return text;
}
