/**
 * Authentication runs before dispatch: a present but invalid token is a 401 everywhere, `/dist` included; no token
 * means the anonymous identity, which routes refuse unless annotated `ks-edge.io/allow-anonymous: "true"`.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { kubeStatus } from '../errors';
import type { Policy } from '../model/snapshot';
import { ANONYMOUS, authMode } from './identity';
import { bearerToken } from './token';
import { TokenError, verifyToken } from './verify';

/** Without any key, a deployment must say AUTH=none, or it serves nothing (fail closed): the 500 to answer. */
export function authConfigMissing(env: AppEnv['Bindings']): Response | undefined {
  if (authMode(env) !== 'misconfigured') return undefined;
  return kubeStatus(500, 'InternalError',
    'ks-edge authentication is not configured: set JWT_SECRET or JWKS_URL, or AUTH=none to run without authentication');
}

export const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set('identity', ANONYMOUS);
  const token = authMode(c.env) === 'jwt' ? bearerToken(c.req.raw.headers) : undefined;
  if (token) {
    try {
      c.set('identity', await verifyToken(token, c.env));
    } catch (e) {
      if (!(e instanceof TokenError)) throw e;
      return unauthorized(e.message);
    }
  }
  await next();
};

export const unauthorized = (why: string) => kubeStatus(401, 'Unauthorized', `Unauthorized: ${why}`);

/** Anonymous callers pass only where the route allows them, or where authentication is off altogether. */
export function refuseAnonymous(c: Context<AppEnv>, policy: Policy): Response | undefined {
  if (!c.get('identity').anonymous || policy.allowAnonymous || authMode(c.env) === 'off') return undefined;
  return unauthorized('this route requires an authenticated user');
}
