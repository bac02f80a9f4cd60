/** What the worker and the rate-limit object exchange (plain data: it crosses an RPC boundary). */
export interface RateRule { limit: number; periodMs: number; burst: number }

export interface RateDecision {
  allowed: boolean;
  /** Requests that may still arrive now. */
  remaining: number;
  /** When refused: how long until one more is allowed. */
  retryAfterMs: number;
  /** How long until the bucket is full again. */
  resetMs: number;
}
