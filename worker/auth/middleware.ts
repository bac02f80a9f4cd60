/**
 * Authentication runs before dispatch: a present but invalid token is a 401 everywhere, `/dist` included, and so
 * is the token of a user the cluster has deleted or disabled once the exporter has published that. No token means
 * the anonymous identity, which authorization (worker/authz/) then decides on.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { kubeStatus } from '../errors';
import { redactCredentials } from '../redact';
import type { RouteTable } from '../route-table';
import { ANONYMOUS, authMode, authzMode, PRE_REGISTRATION_USER, SERVICE_ACCOUNT_PREFIX, type Identity } from './identity';
import { bearerToken } from './token';
import { keyConfigProblem, TokenError, verifyToken } from './verify';

/** Settings that cannot work: the 500 every request gets (fail closed), saying which setting and why. */
export function authConfigMissing(env: AppEnv['Bindings']): Response | undefined {
  const mode = authMode(env);
  if (mode === 'misconfigured') {
    return configError('ks-edge authentication is not configured: set JWT_SECRET or JWKS_URL, or AUTH=none to run without authentication');
  }
  if (mode === 'off') return undefined;
  const problem = keyConfigProblem(env);
  if (problem) return configError(`ks-edge authentication is misconfigured: ${problem}`);
  if (authzMode(env) === 'misconfigured') return configError(`ks-edge authorization is misconfigured: AUTHZ must be "kubesphere" or "none", got ${JSON.stringify(env.AUTHZ)}`);
  return undefined;
}

const configError = (message: string) => kubeStatus(500, 'InternalError', message);

export const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set('identity', ANONYMOUS);
  const bearer = authMode(c.env) === 'jwt' ? bearerToken(c.req.raw.headers) : undefined;
  if (bearer && 'malformed' in bearer) return unauthorized(bearer.malformed);
  if (bearer) {
    let identity: Identity;
    try {
      identity = await verifyToken(bearer.token, c.env);
    } catch (e) {
      if (!(e instanceof TokenError)) throw e;
      return unauthorized(e.message);
    }
    // Only the host checks its users, as in KubeSphere (a member trusts the host's token).
    const gone = c.get('isHost') ? userRefused(c.get('table'), identity) : undefined;
    if (gone) return unauthorized(gone);
    c.set('identity', identity);
  }
  await next();
};

/**
 * KubeSphere's host checks that a token's User exists and is not Disabled (service accounts and the
 * pre-registration user are exempt). The edge can once the snapshot carries the users.
 */
function userRefused(table: RouteTable | undefined, identity: Identity): string | undefined {
  const authz = table?.authz;
  if (!authz || identity.user.startsWith(SERVICE_ACCOUNT_PREFIX) || identity.user === PRE_REGISTRATION_USER) return undefined;
  const state = authz.userState(identity.user);
  if (state === undefined) return `User.iam.kubesphere.io ${JSON.stringify(identity.user)} not found`;
  if (state === 'Disabled') return 'account is not active';
  return undefined;
}

export const unauthorized = (why: string) => kubeStatus(401, 'Unauthorized', redactCredentials(`Unauthorized: ${why}`));
