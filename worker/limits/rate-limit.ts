/**
 * `ks-edge.io/rate-limit` at request time: one RPC to the route's RateLimiter object for the caller's key, before
 * any upstream is touched. Over the limit → 429 with `Retry-After` and the IETF `RateLimit-Policy` / `RateLimit`
 * headers (which allowed responses carry too). A route without the annotation costs nothing.
 *
 * If the object cannot be reached, the request is let through (fail open) and counted on the status page: a
 * rate limit protects upstreams from excess, and refusing everyone because the counter is down would be an outage
 * of its own.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../env';
import { kubeStatus } from '../errors';
import type { RateLimit } from '../model/resilience';
import type { RateDecision } from './rate-rule';

/** `unreachable`: requests let through because the limiter could not be asked (no binding, or an error). */
export const limitStats = { unreachable: 0, refused: 0 };

export type RateOutcome = { refused: Response } | { headers: [string, string][] } | undefined;

export async function checkRateLimit(c: Context<AppEnv>, routeId: string, rule: RateLimit | undefined): Promise<RateOutcome> {
  if (!rule) return undefined;
  const ns = c.env.RATE_LIMITER;
  if (!ns) {
    limitStats.unreachable++;
    return undefined;
  }
  const key = `${routeId}|${keyOf(c, rule)}`;
  let d: RateDecision;
  try {
    d = await ns.get(ns.idFromName(key)).hit(key, { limit: rule.limit, periodMs: rule.periodMs, burst: rule.burst });
  } catch (e) {
    limitStats.unreachable++;
    console.error(`ks-edge: rate limiter unreachable for ${routeId}, letting the request through: ${(e as Error).message}`);
    return undefined;
  }
  const headers = rateHeaders(rule, d);
  if (d.allowed) return { headers };
  limitStats.refused++;
  const retryAfter = Math.max(1, Math.ceil(d.retryAfterMs / 1000));
  return {
    refused: kubeStatus(429, 'TooManyRequests',
      `Too many requests: ${routeId} allows ${rule.limit} per ${rule.periodMs / 1000}s per ${rule.key} (burst ${rule.burst}); retry after ${retryAfter}s`,
      [...headers, ['Retry-After', String(retryAfter)]]),
  };
}

function keyOf(c: Context<AppEnv>, rule: RateLimit): string {
  switch (rule.key) {
    case 'route': return 'route';
    case 'user': return `user:${c.get('identity').user}`;
    default: return `ip:${c.get('clientIp') ?? '-'}`;
  }
}

/** draft-ietf-httpapi-ratelimit-headers: the policy (quota, window) and what is left of it. */
function rateHeaders(rule: RateLimit, d: RateDecision): [string, string][] {
  return [
    ['RateLimit-Policy', `"edge";q=${rule.limit};w=${Math.ceil(rule.periodMs / 1000)};burst=${rule.burst}`],
    ['RateLimit', `"edge";r=${d.remaining};t=${Math.ceil((d.allowed ? d.resetMs : d.retryAfterMs) / 1000)}`],
  ];
}
