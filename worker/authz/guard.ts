/**
 * The authorization step of APIService and ReverseProxy requests (and `/_gateway/status`), SPEC §4:
 *
 * - a route annotated `ks-edge.io/allow-anonymous: "true"` is public: no authorization;
 * - AUTH=none: nobody to authorize; AUTHZ=none: authenticated users pass, anonymous callers get 401;
 * - otherwise KubeSphere decides: RequestInfo, the always-allowed paths, then RBAC over the snapshot's data.
 *
 * Where KubeSphere's rules give a request a second reading (the workspace label selector of a watch), both readings
 * must allow (request-info.ts). The decision is made on the decoded path, as ks-apiserver's. When the path holds an encoded `/` or `\`, the
 * edge also decides on the path as an upstream that keeps them would see it, and both must allow: routing went
 * by the encoded form, so authorization must not read a different path than the route that will serve it.
 */
import type { Context } from 'hono';
import { authzMode, type Identity } from '../auth/identity';
import { unauthorized } from '../auth/middleware';
import { reviewGate } from '../auth/review-gate';
import type { AppEnv } from '../env';
import { forbidden, forbiddenMessage, requestInfoFailed } from './forbidden';
import { alwaysAllowed } from './always-allowed';
import { routingPath } from '../route-table';
import { readOrLoad } from '../snapshot/lazy-part';
import type { AuthzTable, Decision } from './rbac';
import { decodeBytes, requestReadings, RequestInfoError, type RequestInfo } from './request-info';

const NO_DATA = 'no authorization data is published in the routing snapshot (run the exporter with IAM read access)';

/**
 * Answers the request when it may not go on; undefined when it may. A promise only on a cold isolate, while the
 * authorization data the decision reads is being loaded.
 */
export function authorize(c: Context<AppEnv>, allowAnonymous: boolean): Response | undefined | Promise<Response | undefined> {
  // Authentication is finished first: ks-apiserver must still stand behind the token. A public route needs no
  // token, but one that comes is reviewed too: its user would reach the upstream in identity headers and {user}.
  const reviewed = reviewGate(c);
  if (reviewed instanceof Promise) return reviewed.then((refused) => refused ?? decideFor(c, allowAnonymous));
  if (reviewed) return reviewed;
  return decideFor(c, allowAnonymous);
}

function decideFor(c: Context<AppEnv>, allowAnonymous: boolean): Response | undefined | Promise<Response | undefined> {
  const url = c.get('url');
  const outcome = readOrLoad(() => authorization(c.env, c.get('table')?.authz, c.req.method, url, c.get('identity'), allowAnonymous));
  if (outcome instanceof Promise) return outcome.then((o) => answer(c, o));
  return answer(c, outcome);
}

function answer(c: Context<AppEnv>, outcome: Outcome): Response | undefined {
  c.get('trace').decision = outcome.decision;
  return outcome.refusal?.();
}

/** What authorization says of a request, and the answer when it says no (built only when asked for). */
export interface Outcome { decision: string; refusal?: () => Response; status?: 401 | 403 | 500; message?: string }

/**
 * The decision for a request as the worker parsed it, with everything it depends on passed in: the request path
 * and the route explainer (handlers/explain.ts) both call it, so the explainer cannot tell a different story.
 */
export function authorization(
  env: AppEnv['Bindings'], table: AuthzTable | undefined, method: string, url: URL, identity: Identity, allowAnonymous: boolean,
): Outcome {
  if (allowAnonymous) return { decision: 'public route' };
  switch (authzMode(env)) {
    case 'off': return { decision: 'authentication off' };
    case 'none': {
      if (!identity.anonymous) return { decision: 'authenticated (AUTHZ=none)' };
      const message = 'this route requires an authenticated user';
      return { decision: 'anonymous refused (AUTHZ=none)', status: 401, message, refusal: () => unauthorized(message) };
    }
    default: break;
  }
  const verdict = authorizeRequest(table, method, url.pathname, url.search, identity.user, identity.groups);
  if (verdict.allowed) return { decision: verdict.reason };
  if ('ri' in verdict) {
    return { decision: 'forbidden', status: 403, message: forbiddenMessage(verdict.ri, identity.user, verdict.errors),
      refusal: () => forbidden(verdict.ri, identity.user, verdict.errors, method) };
  }
  return { decision: 'request info failed', status: 500, message: verdict.error, refusal: () => requestInfoFailed(verdict.path, verdict.error) };
}

export type Verdict =
  | { allowed: true; reason: string }
  | { allowed: false; ri: RequestInfo; errors: string[] }
  | { allowed: false; path: string; error: string };

/** The whole decision for a request as the worker parsed it (`rawPath` percent-encoded, `search` its query). */
export function authorizeRequest(
  table: AuthzTable | undefined, method: string, rawPath: string, search: string, user: string, groups: readonly string[],
): Verdict {
  let reason = '';
  for (const path of pathViews(rawPath)) {
    let readings: RequestInfo[];
    try {
      readings = requestReadings(method, path, search);
    } catch (e) {
      if (!(e instanceof RequestInfoError)) throw e;
      return { allowed: false, path, error: e.message };
    }
    // The edge's reading and KubeSphere's (request-info.ts): the first that refuses answers, in its own words.
    for (const ri of readings) {
      const decision = decide(table, ri, user, groups);
      if (!decision.allowed) return { allowed: false, ri, errors: decision.errors };
      reason ||= decision.reason;
    }
  }
  return { allowed: true, reason };
}

export function decide(table: AuthzTable | undefined, ri: RequestInfo, user: string, groups: readonly string[]): Decision {
  if (alwaysAllowed(ri.path)) return { allowed: true, reason: 'always-allowed path' };
  if (!table) return { allowed: false, errors: [NO_DATA] };
  return table.decide(ri, { name: user, groups });
}

/**
 * The decoded path (ks-apiserver's reading), and when it differs in its segments, the path routes were matched on
 * (encoded slashes kept as they are): both must be allowed.
 */
export function pathViews(rawPath: string): string[] {
  const decoded = decodeBytes(rawPath);
  if (!/%(2f|5c)/i.test(rawPath)) return [decoded];
  return [decoded, routingPath(rawPath)];
}
