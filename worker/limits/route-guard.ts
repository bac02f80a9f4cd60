/**
 * The resilience steps around an upstream call, shared by APIService and ReverseProxy routes (SPEC §9), in order:
 * rate limit → (redirect, answered by the handler) → circuit → send with retries → record the outcome. Each is
 * skipped at no cost on a route without its annotation.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../env';
import { authorize } from '../authz/guard';
import { badGateway, proxyError } from '../errors';
import type { Policy, Upstream } from '../model/snapshot';
import { resolveOrigin } from '../proxy/cluster-origin';
import { circuitGate, circuitRecord, isFailure } from './circuits';
import { redirectResponse, requestContext } from '../proxy/redirect';
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

/**
 * Admission of an APIService or ReverseProxy request: refused (429, an open circuit), answered by the route's
 * redirect, or admitted with what its answer must carry.
 */
export async function admitOrRedirect(c: Context<AppEnv>, id: string, policy: Policy, url: URL): Promise<{ answer: Response } | Admitted> {
  const admitted = await admit(c, id, policy, Boolean(policy.redirect));
  if ('refused' in admitted) return { answer: admitted.refused };
  if (!policy.redirect) return admitted;
  const identity = c.get('identity');
  const ctx = requestContext(url, c.req.method, c.req.raw.headers, c.get('clientIp'), identity.anonymous ? '' : identity.user);
  return { answer: withHeaders(redirectResponse(policy.redirect, ctx), admitted.headers) };
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

interface EnteringRoute {
  name: string;
  available: boolean;
  unavailable?: string;
  upstream?: Upstream;
  policy: Policy;
}

export type Entered = { answer: Response } | { id: string; admitted: Admitted; origin: { base: string; binding?: Fetcher } };

/**
 * What every APIService and ReverseProxy request goes through before its upstream, in order: authorization (before
 * availability, as ks-apiserver authorizes before its filters), availability (503 with the reason), rate limit,
 * redirect, circuit, and the upstream's origin (an unmapped in-cluster host is a 502 the circuit learns of).
 */
export async function enterRoute(c: Context<AppEnv>, kind: 'apiService' | 'reverseProxy', route: EnteringRoute, url: URL): Promise<Entered> {
  const verdict = authorize(c, route.policy.allowAnonymous);
  const refused = verdict instanceof Promise ? await verdict : verdict;
  if (refused) return { answer: refused };
  if (!route.available || !route.upstream) return { answer: proxyError(503, route.unavailable ?? `${kind} ${route.name} is not available`) };
  const id = routeId(c.get('cluster'), kind, route.name);
  const admitted = await admitOrRedirect(c, id, route.policy, url);
  if ('answer' in admitted) return admitted;
  const origin = resolveOrigin(route.upstream, c.env, c.get('cluster'));
  if ('error' in origin) {
    settle(c, id, route.policy, undefined, admitted);
    return { answer: badGateway(origin.error) };
  }
  return { id, admitted, origin };
}
