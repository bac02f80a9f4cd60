/**
 * `ks-edge.io/*` annotations: per-route behaviour beyond KubeSphere. Annotations, because a real API server prunes
 * unknown spec fields but keeps annotations. Parsed at export time; a malformed value makes the resource invalid.
 */
import { parseCircuitBreaker, parseDuration, parseRateLimit, parseRedirect, parseRetries } from './resilience';
import { parseCacheKey, parseCacheTtl } from './cache-rule';
import type { Policy } from './snapshot';

export const ANNOTATION_PREFIX = 'ks-edge.io/';
export const DEFAULT_TIMEOUT_MS = 30_000;


export interface PolicyResult {
  policy: Policy;
  /** `ks-edge.io/claim-path: "true"`: the ReverseProxy may claim paths outside /proxy/ and /res/ (export time only). */
  claimPath: boolean;
  problems: string[];
  warnings: string[];
}

export { parseDuration };

export function parsePolicy(annotations: Record<string, string> | undefined): PolicyResult {
  const policy: Policy = { allowAnonymous: false, timeoutMs: DEFAULT_TIMEOUT_MS };
  const problems: string[] = [];
  const warnings: string[] = [];
  let claimPath = false;
  const cache: { ttl?: number; key?: 'shared' | 'user' } = {};
  for (const [key, value] of Object.entries(annotations ?? {})) {
    if (!key.startsWith(ANNOTATION_PREFIX)) continue;
    const name = key.slice(ANNOTATION_PREFIX.length);
    switch (name) {
      case 'allow-anonymous':
        if (value === 'true' || value === 'false') policy.allowAnonymous = value === 'true';
        else problems.push(`annotation ${key}: expected "true" or "false", got ${JSON.stringify(value)}`);
        break;
      case 'claim-path':
        if (value === 'true' || value === 'false') claimPath = value === 'true';
        else problems.push(`annotation ${key}: expected "true" or "false", got ${JSON.stringify(value)}`);
        break;
      case 'timeout': {
        const ms = parseDuration(value);
        if (ms === undefined || ms <= 0 || ms > 600_000) {
          problems.push(`annotation ${key}: expected a duration such as "30s" (at most 10m), got ${JSON.stringify(value)}`);
        } else policy.timeoutMs = ms;
        break;
      }
      case 'cache':
      case 'cache-key':
        try {
          if (name === 'cache') cache.ttl = parseCacheTtl(value);
          else cache.key = parseCacheKey(value);
        } catch (e) {
          problems.push(`annotation ${key}: ${JSON.stringify(value)}: ${(e as Error).message}`);
        }
        break;
      case 'health-check':
        try {
          parseHealthCheck(value);
        } catch (e) {
          problems.push(`annotation ${key}: ${(e as Error).message}`);
        }
        break;
      case 'rate-limit':
      case 'circuit-breaker':
      case 'retries':
      case 'redirect':
        try {
          if (name === 'rate-limit') policy.rateLimit = parseRateLimit(value);
          else if (name === 'circuit-breaker') policy.circuitBreaker = parseCircuitBreaker(value);
          else if (name === 'retries') policy.retries = parseRetries(value);
          else policy.redirect = parseRedirect(value);
        } catch (e) {
          problems.push(`annotation ${key}: ${JSON.stringify(value)}: ${(e as Error).message}`);
        }
        break;
      default:
        warnings.push(`unknown annotation ${key} has no effect`);
    }
  }
  if (cache.ttl !== undefined) policy.cache = { ttlMs: cache.ttl, key: cache.key ?? 'shared', version: '' };
  else if (cache.key !== undefined) warnings.push(`annotation ${ANNOTATION_PREFIX}cache-key has no effect without ${ANNOTATION_PREFIX}cache`);
  return { policy, claimPath, problems, warnings };
}

export const HEALTH_CHECK_ANNOTATION = `${ANNOTATION_PREFIX}health-check`;

export interface HealthCheck { path: string; intervalMs: number; timeoutMs: number }

/** `path=/healthz;interval=30s;timeout=5s` (every part optional but path). The exporter probes; the edge cannot. */
export function parseHealthCheck(text: string): HealthCheck {
  const check: HealthCheck = { path: '', intervalMs: 30_000, timeoutMs: 5_000 };
  for (const part of text.split(';').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const [k, v] = eq < 0 ? [part, ''] : [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
    if (k === 'path') {
      if (!v.startsWith('/')) throw new Error(`path must start with "/", got ${JSON.stringify(v)}`);
      // `//host/x` or a backslash would make the probe go to another host.
      if (v.startsWith('//') || v.includes('\\') || /[\s#]/.test(v)) throw new Error(`path must be a path on the upstream (no leading "//", "\\", spaces or "#"), got ${JSON.stringify(v)}`);
      check.path = v;
    } else if (k === 'interval' || k === 'timeout') {
      const ms = parseDuration(v);
      if (ms === undefined || ms <= 0) throw new Error(`${k} must be a duration such as "5s", got ${JSON.stringify(v)}`);
      check[k === 'interval' ? 'intervalMs' : 'timeoutMs'] = ms;
    } else throw new Error(`unknown setting ${JSON.stringify(k)} (expected path, interval, timeout)`);
  }
  if (!check.path) throw new Error('needs path=/…');
  return check;
}
