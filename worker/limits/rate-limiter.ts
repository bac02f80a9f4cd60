/**
 * The Durable Object that counts a rate limit across isolates and locations: one object per (route, key), named
 * by the worker. GCRA (a token bucket kept as one "theoretical arrival time"): `burst` may arrive at once, then
 * `limit` per period. The count lives in the object's memory, not in storage: a write per request would cost
 * ~0.3 ms more and an fsync each (measured, README "Resilience"), and a rate limit that forgets a few seconds of
 * counts when its object is evicted errs on the caller's side for one window only.
 */
import { DurableObject } from 'cloudflare:workers';
import type { RateDecision, RateRule } from './rate-rule';

export class RateLimiter extends DurableObject {
  private readonly tat = new Map<string, number>();

  hit(key: string, rule: RateRule, now = Date.now()): RateDecision {
    const interval = rule.periodMs / rule.limit;
    const capacity = interval * rule.burst;
    const next = Math.max(this.tat.get(key) ?? now, now) + interval;
    if (next - now > capacity) {
      return { allowed: false, remaining: 0, retryAfterMs: Math.ceil(next - now - capacity), resetMs: Math.ceil((this.tat.get(key) ?? now) - now) };
    }
    this.tat.set(key, next);
    return { allowed: true, remaining: Math.floor((capacity - (next - now)) / interval), retryAfterMs: 0, resetMs: Math.ceil(next - now) };
  }
}
