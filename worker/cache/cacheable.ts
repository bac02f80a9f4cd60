/**
 * Whether a request may use the edge cache and an answer may be kept there (RFC 9111, as a shared cache), as pure
 * functions: the request path, the explainer and the tests read the same rules. A reason is always given for no.
 */

/** Answers a shared cache may keep by heuristic freshness (RFC 9111 §4.2.2), which `ks-edge.io/cache` sets. */
export const STORABLE_STATUS = new Set([200, 203, 204, 301, 404, 410]);

/** Why this request cannot use the cache, or undefined when it can. */
export function requestBypass(method: string, headers: Headers): string | undefined {
  if (method !== 'GET' && method !== 'HEAD') return `${method} is never cached`;
  if (headers.has('upgrade')) return 'a protocol upgrade is never cached';
  return undefined;
}

/** What the upstream was sent that makes its answer private to this caller (RFC 9111 §3.5: Authorization). */
export function upstreamRequestBypass(upstream: Headers): string | undefined {
  if (upstream.has('authorization')) return 'the request forwards Authorization to the upstream';
  if (upstream.has('x-kubesphere-authorization')) return 'the request forwards X-KubeSphere-Authorization to the upstream';
  return undefined;
}

export type Storable = { ttlSeconds: number; age: number } | { reason: string };

/**
 * Whether the upstream's answer may be kept, and for how long: the route's TTL, or the answer's own freshness
 * (`s-maxage`, else `max-age`, else `Expires` − `Date`, less its `Age`) when that is shorter.
 */
export function storable(status: number, headers: Headers, ruleTtlMs: number, now = Date.now()): Storable {
  if (!STORABLE_STATUS.has(status)) return { reason: `status ${status} is not kept` };
  if (headers.has('set-cookie')) return { reason: 'the answer sets a cookie' };
  const cc = directives(headers.get('cache-control'));
  for (const d of ['no-store', 'private', 'no-cache']) if (cc.has(d)) return { reason: `the answer says Cache-Control: ${d}` };
  if (!headers.has('cache-control') && /(^|,)\s*no-cache\s*(,|$)/i.test(headers.get('pragma') ?? '')) return { reason: 'the answer says Pragma: no-cache' };
  const vary = (headers.get('vary') ?? '').split(',').map((x) => x.trim().toLowerCase()).filter(Boolean);
  if (vary.includes('*')) return { reason: 'the answer says Vary: *' };
  const varied = vary.filter((x) => x !== 'accept-encoding');
  if (varied.length) return { reason: `the answer varies by ${varied.join(', ')}, which the edge does not key on` };
  const age = Math.max(0, Number.parseInt(headers.get('age') ?? '0', 10) || 0);
  let own: number | undefined;
  const seconds = (d: string) => {
    const value = cc.get(d);
    return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
  };
  own = seconds('s-maxage') ?? seconds('max-age');
  if (own === undefined && headers.has('expires')) {
    const expires = Date.parse(headers.get('expires')!);
    const date = headers.has('date') ? Date.parse(headers.get('date')!) : now;
    // An invalid Expires means already expired (RFC 9111 §5.3).
    own = Number.isNaN(expires) ? 0 : Math.floor((expires - (Number.isNaN(date) ? now : date)) / 1000);
  }
  let ttl = Math.floor(ruleTtlMs / 1000);
  if (own !== undefined) ttl = Math.min(ttl, own - age);
  if (ttl <= 0) return { reason: 'the answer is already stale' };
  return { ttlSeconds: ttl, age };
}

/** Cache-Control directives, lower-cased, with their values (unquoted). */
export function directives(header: string | null): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(',')) {
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (name) out.set(name, eq < 0 ? '' : part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1'));
  }
  return out;
}

/** What the route explainer says of a request's use of the edge cache (the same rules as a request). */
export function explainCache(
  rule: { ttlMs: number; key: 'shared' | 'user' } | undefined, method: string, clientHeaders: Headers, upstream: Headers, perUser: boolean,
) {
  if (!rule) return null;
  const why = requestBypass(method, clientHeaders) ?? upstreamRequestBypass(upstream);
  return {
    ttlSeconds: rule.ttlMs / 1000,
    key: rule.key === 'user' || perUser ? 'per user' : 'shared by every caller authorization lets through',
    cacheable: why
      ? `no: ${why}`
      : `yes, when the answer allows it (status ${[...STORABLE_STATUS].join('/')}; no Set-Cookie; no Cache-Control private, no-store or no-cache; no Vary but Accept-Encoding); its own max-age wins when shorter`,
  };
}
