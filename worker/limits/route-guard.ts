/**
 * The resilience steps around an upstream call, shared by APIService and ReverseProxy routes (SPEC §9), in order:
 * rate limit → (redirect, answered by the handler) → circuit → send with retries → record the outcome. Each is
 * skipped at no cost on a route without its annotation.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../env';
import type { Policy } from '../model/snapshot';
import { circuitGate, circuitRecord, isFailure } from './circuits';
import { checkRateLimit } from './rate-limit';

export interface Admitted {
  /** Headers every answer of this request carries (the rate limit's). */
  headers: [string, string][] | undefined;
  /** This request is the circuit's one probe. */
  probe: boolean;
}

/** Refused (429, or 503 from an open circuit), or admitted with what the answer must carry. */
export async function admit(c: Context<AppEnv>, routeId: string, policy: Policy, redirecting: boolean): Promise<{ refused: Response } | Admitted> {
  const limited = await checkRateLimit(c, routeId, policy.rateLimit);
  if (limited && 'refused' in limited) return limited;
  const headers = limited?.headers;
  if (redirecting) return { headers, probe: false };
  const gate = await circuitGate(c, routeId, policy.circuitBreaker);
  if (gate && 'refused' in gate) return gate;
  return { headers, probe: gate?.probe ?? false };
}

/** After the upstream answered (`status`) or failed (undefined): the circuit learns of it. */
export function settle(c: Context<AppEnv>, routeId: string, policy: Policy, status: number | undefined, admitted: Admitted): void {
  circuitRecord(c, routeId, policy.circuitBreaker, isFailure(status), admitted.probe);
}

export function withHeaders(response: Response, headers: [string, string][] | undefined, retries = 0): Response {
  if (!headers?.length && !retries) return response;
  let r = response;
  try {
    for (const [k, v] of headers ?? []) r.headers.set(k, v);
  } catch {
    r = new Response(r.body, r); // immutable headers (a redirect): copy once
    for (const [k, v] of headers ?? []) r.headers.set(k, v);
  }
  if (retries) r.headers.set('X-Ks-Edge-Retries', String(retries));
  return r;
}

/** A route's identity for its rate limit and circuit: per cluster, since each cluster has its own upstreams. */
export const routeId = (cluster: string, kind: 'apiService' | 'reverseProxy', name: string) => `${cluster}/${kind}/${name}`;
