/**
 * The edge cache of `ks-edge.io/cache` routes: Cloudflare's cache at each location (the Workers Cache API,
 * `caches.default`), consulted only after the request was authenticated, authorized and admitted (handlers call it
 * after `enterRoute`), so a cached answer never reaches a caller who would be refused.
 *
 * The key is the route (cluster, kind, name and the snapshot's version of it), the request's host and scheme, the
 * upstream URL after directives, the values headerUp rendered from the request, and — for `cache-key: user`, or
 * when the upstream is told who asks (identity headers) — the user. What is stored is the upstream's answer before
 * headerDown; headerDown, wrapTransport and the rate limit's headers are applied to every answer, hit or miss.
 */
import type { CacheRule } from '../model/cache-rule';
import { requestBypass, storable, upstreamRequestBypass } from './cacheable';

export type CacheOutcome = 'HIT' | 'MISS' | 'BYPASS';

export interface CacheRequest {
  rule: CacheRule;
  cluster: string;
  kind: 'apiService' | 'reverseProxy';
  name: string;
  /** The request as the client sent it (its method and conditional and Range headers). */
  method: string;
  clientUrl: URL;
  clientHeaders: Headers;
  /** What goes upstream: the URL after directives and the headers after headerUp. */
  upstreamUrl: string;
  upstreamHeaders: Headers;
  /** Header values that headerUp rendered from the request (they shape the upstream's answer). */
  rendered: string[];
  /** Who asks, when the key holds it. */
  user: string | undefined;
}

/** What a request's trip through the cache came to (the log line and `X-Cache`). */
export interface CacheTrip { outcome: CacheOutcome; reason?: string }

export const cacheStats = { hits: 0, misses: 0, bypasses: 0, stores: 0, errors: 0, lastError: undefined as string | undefined };

const INTERNAL = { storedAt: 'x-ks-edge-stored-at', age: 'x-ks-edge-age', control: 'x-ks-edge-cache-control', ttl: 'x-ks-edge-ttl' };
const CONDITIONAL = ['if-none-match', 'if-modified-since', 'range', 'if-range'];
const NONE = '-';

export class EdgeCache {
  readonly trip: CacheTrip;
  private readonly key: string | undefined;

  constructor(private readonly r: CacheRequest, private readonly background: (p: Promise<unknown>) => void) {
    const bypass = requestBypass(r.method, r.clientHeaders) ?? upstreamRequestBypass(r.upstreamHeaders);
    this.trip = bypass ? { outcome: 'BYPASS', reason: bypass } : { outcome: 'MISS' };
    this.key = bypass ? undefined : cacheKey(r);
  }

  /** The cached answer (304 or 206 when the client's conditional or Range asks for one), or undefined. */
  async lookup(): Promise<Response | undefined> {
    if (!this.key || typeof caches === 'undefined') return undefined;
    const headers = new Headers();
    for (const h of CONDITIONAL) {
      const v = this.r.clientHeaders.get(h);
      if (v !== null) headers.set(h, v);
    }
    let hit: Response | undefined;
    try {
      hit = await caches.default.match(new Request(this.key, { headers }));
    } catch (e) {
      noteError(e);
      return undefined;
    }
    if (!hit) return undefined;
    const storedAt = Number(hit.headers.get(INTERNAL.storedAt));
    const ttl = Number(hit.headers.get(INTERNAL.ttl));
    const age = Math.max(0, Math.floor((Date.now() - storedAt) / 1000)) + Number(hit.headers.get(INTERNAL.age) ?? 0);
    // The cache's own expiry is the bound; this check guards against a copy kept past it.
    if (!Number.isFinite(storedAt) || !Number.isFinite(ttl) || Date.now() - storedAt > ttl * 1000) {
      await hit.body?.cancel();
      return undefined;
    }
    // A cached body with a Content-Encoding comes back encoded: `manual` keeps the runtime from encoding it twice.
    const encoded = hit.headers.has('content-encoding');
    const served = new Response(this.r.method === 'HEAD' ? null : hit.body, {
      status: hit.status, statusText: hit.statusText, headers: hit.headers, ...(encoded ? { encodeBody: 'manual' as const } : {}),
    });
    if (this.r.method === 'HEAD') await hit.body?.cancel();
    restoreHeaders(served.headers);
    served.headers.set('age', String(age));
    this.trip.outcome = 'HIT';
    cacheStats.hits++;
    return served;
  }

  /** The upstream request of a miss: a whole answer is fetched, so that it can be kept and answer any range. */
  upstreamHeaders(headers: Headers): Headers {
    if (this.key) for (const h of [...CONDITIONAL, 'if-match', 'if-unmodified-since']) headers.delete(h);
    return headers;
  }

  /**
   * A miss's answer: kept in the background when it may be, and answered to this client (a 304 when its
   * conditional matches what came back).
   */
  keep(response: Response): Response {
    if (!this.key) {
      cacheStats.bypasses++;
      return response;
    }
    cacheStats.misses++;
    const verdict = storable(response.status, response.headers, this.r.rule.ttlMs);
    if ('reason' in verdict) {
      this.trip.outcome = 'BYPASS';
      this.trip.reason = verdict.reason;
      return response;
    }
    // A HEAD answer has no body to keep, but the client's condition is still answered.
    if (this.r.method !== 'GET') return response.status === 200 && notModified(this.r.clientHeaders, response.headers) ? new Response(null, { status: 304, headers: response.headers }) : response;
    const [mine, kept] = response.body ? response.body.tee() : [null, null];
    const stored = new Response(kept, { status: response.status, statusText: response.statusText, headers: storedHeaders(response.headers, verdict) });
    const key = this.key;
    // Sent as a promise, so a runtime without a cache service (plain workerd) fails it off the answer's path.
    this.background(Promise.resolve().then(() => caches.default.put(new Request(key), stored)).then(() => { cacheStats.stores++; }, (e) => {
      noteError(e);
      // The copy no cache took is not buffered for nothing.
      if (!stored.bodyUsed) stored.body?.cancel().catch(() => undefined);
    }));
    const answer = new Response(mine, response);
    // RFC 9110 §13.2.1: conditions apply to a 2xx answer only.
    if (answer.status === 200 && notModified(this.r.clientHeaders, answer.headers)) {
      void mine?.cancel();
      return new Response(null, { status: 304, headers: answer.headers });
    }
    return answer;
  }
}

/** Every part of the key is escaped on its own, so no value can pass for another part. */
export function cacheKey(r: CacheRequest): string {
  const part = (s: string) => encodeURIComponent(s);
  return [
    `${r.clientUrl.protocol}//${r.clientUrl.host}/_gateway/cache/v1`, part(r.cluster), r.kind, part(r.name), part(r.rule.version),
    part(r.user ?? NONE), part(r.rendered.join('\n') || NONE), part(r.upstreamUrl),
  ].join('/');
}

/** The copy in the cache: its lifetime in its own Cache-Control; the upstream's headers kept to be served back. */
function storedHeaders(from: Headers, verdict: { ttlSeconds: number; age: number }): Headers {
  const h = new Headers(from);
  h.set(INTERNAL.control, from.get('cache-control') ?? NONE);
  h.set('cache-control', `public, max-age=${verdict.ttlSeconds}, s-maxage=${verdict.ttlSeconds}`);
  h.set(INTERNAL.storedAt, String(Date.now()));
  h.set(INTERNAL.ttl, String(verdict.ttlSeconds));
  h.set(INTERNAL.age, String(verdict.age));
  h.delete('age');
  return h;
}

function restoreHeaders(h: Headers): void {
  const control = h.get(INTERNAL.control);
  if (control === null || control === NONE) h.delete('cache-control');
  else h.set('cache-control', control);
  for (const name of Object.values(INTERNAL)) h.delete(name);
}

/** RFC 9110 §13.1.2–3: If-None-Match (weak comparison), else If-Modified-Since against Last-Modified. */
export function notModified(request: Headers, response: Headers): boolean {
  const inm = request.get('if-none-match');
  const etag = response.get('etag');
  if (inm !== null) {
    if (!etag) return false;
    const weak = (t: string) => t.trim().replace(/^W\//, '');
    return inm.split(',').some((t) => t.trim() === '*' || weak(t) === weak(etag));
  }
  const ims = request.get('if-modified-since');
  const lm = response.get('last-modified');
  if (ims === null || lm === null) return false;
  const since = Date.parse(ims);
  const modified = Date.parse(lm);
  return !Number.isNaN(since) && !Number.isNaN(modified) && modified <= since;
}

function noteError(e: unknown): void {
  cacheStats.errors++;
  cacheStats.lastError = (e as Error)?.message ?? String(e);
}

/**
 * Whether this runtime keeps what is put in `caches.default` (Cloudflare and `wrangler dev` do; plain workerd has
 * no cache service, so routes work uncached there): a probe entry is put and read back, once per isolate.
 */
let probed: Promise<{ available: boolean; why?: string }> | undefined;
export function cacheAvailable(origin: string): Promise<{ available: boolean; why?: string }> {
  probed ??= (async () => {
    if (typeof caches === 'undefined') return { available: false, why: 'this runtime has no Cache API' };
    try {
      const key = new Request(`${origin}/_gateway/cache/probe`);
      await caches.default.put(key, new Response('ok', { headers: { 'cache-control': 'max-age=60' } }));
      const back = await caches.default.match(key);
      await back?.body?.cancel();
      return back ? { available: true } : { available: false, why: 'caches.default keeps nothing here (plain workerd has no cache service): cached routes work uncached' };
    } catch (e) {
      const message = (e as Error).message;
      // workerd's words when its config names no cache service.
      if (/no cache was configured/i.test(message)) return { available: false, why: `this runtime has no cache service (plain workerd has no cache service): cached routes work uncached (${message})` };
      return { available: false, why: `caches.default failed: ${message}` };
    }
  })();
  return probed;
}
