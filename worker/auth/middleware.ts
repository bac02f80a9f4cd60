/**
 * Authentication runs before dispatch: a present but invalid token is a 401 everywhere, `/dist` included, and so
 * is the token of a user the cluster has deleted or disabled once the exporter has published that. No token means
 * the anonymous identity, which authorization (worker/authz/) then decides on.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { kubeStatus } from '../errors';
import { redactCredentials } from '../redact';
import { fleet } from '../fleet/fleet';
import type { RouteTable } from '../route-table';
import { readOrLoad } from '../snapshot/lazy-part';
import { ANONYMOUS, authMode, authzMode, type Identity } from './identity';
import { bearerToken } from './token';
import { reviewSettings } from './review-settings';
import { keyConfigProblem, TokenError, verifyToken, type Verified } from './verify';

/** Settings that cannot work: the 500 every request gets (fail closed), saying which setting and why. */
export function authConfigMissing(env: AppEnv['Bindings']): Response | undefined {
  const mode = authMode(env);
  if (mode === 'misconfigured') {
    return configError('ks-edge authentication is not configured: set JWT_SECRET or JWKS_URL, or AUTH=none to run without authentication');
  }
  if (mode === 'off') return undefined;
  const problem = keyProblemOf(env);
  if (problem) return configError(`ks-edge authentication is misconfigured: ${problem}`);
  const review = reviewSettings(env);
  if ('error' in review) return configError(`ks-edge token review is misconfigured: ${review.error}`);
  if (authzMode(env) === 'misconfigured') return configError(`ks-edge authorization is misconfigured: AUTHZ must be "kubesphere" or "none", got ${JSON.stringify(env.AUTHZ)}`);
  return undefined;
}

const configError = (message: string) => kubeStatus(500, 'InternalError', message);

/** The key settings' problem, worked out once per isolate and settings (it encodes the secret to count its bytes). */
let checked: { of: string; problem: string | undefined } | undefined;
function keyProblemOf(env: AppEnv['Bindings']): string | undefined {
  const of = `${env.JWT_SECRET ?? ''}\n${env.JWKS_URL ?? ''}\n${env.JWT_ISSUER ?? ''}`;
  if (checked?.of !== of) checked = { of, problem: keyConfigProblem(env) };
  return checked.problem;
}

export const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set('identity', ANONYMOUS);
  const bearer = authMode(c.env) === 'jwt' ? bearerToken(c.req.raw.headers) : undefined;
  if (bearer && 'malformed' in bearer) return unauthorized(bearer.malformed);
  if (bearer) {
    let verified: Verified;
    try {
      verified = await verifyToken(bearer.token, c.env);
    } catch (e) {
      if (!(e instanceof TokenError)) throw e;
      return unauthorized(e.message);
    }
    // The host's users decide, for member paths too: KubeSphere's host authenticates a request before it proxies
    // it to a member, so a deleted or disabled user reaches no cluster.
    const table = c.get('isHost') ? c.get('table') : fleet.host(c.env).state.table;
    const { identity } = verified;
    const refused = readOrLoad(() => userRefused(table, identity));
    const gone = refused instanceof Promise ? await refused : refused;
    if (gone) return unauthorized(gone);
    c.set('identity', identity);
    // Reviewed by ks-apiserver where the edge acts on it (auth/review-gate.ts), not here: public routes and the
    // core's own paths need no review.
    c.set('credential', { token: bearer.token, exp: verified.exp });
  }
  await next();
};

/**
 * KubeSphere's host checks that a token's User exists and is not Disabled (service accounts and the
 * pre-registration user are exempt). The edge can once the snapshot carries the users.
 */
function userRefused(table: RouteTable | undefined, identity: Identity): string | undefined {
  const authz = table?.authz;
  // Exempt exactly when the authenticator left the caller groupless (service account by `sub`, pre-registration).
  if (!authz || identity.groups.length === 0) return undefined;
  const state = authz.userState(identity.user);
  if (state === undefined) return `User.iam.kubesphere.io ${JSON.stringify(identity.user)} not found`;
  if (state === 'Disabled') return 'account is not active';
  return undefined;
}

export const unauthorized = (why: string) => kubeStatus(401, 'Unauthorized', redactCredentials(`Unauthorized: ${why}`));
