/** Who is calling: the identity headers upstreams see, and the user and groups authorization decides on. */
export interface Identity {
  user: string;
  /** `X-Remote-Group`. */
  group: 'system:authenticated' | 'system:unauthenticated';
  /** The groups KubeSphere's authenticator gives this caller, which RBAC group subjects match. */
  groups: readonly string[];
  anonymous: boolean;
}

export const ANONYMOUS: Identity = { user: 'system:anonymous', group: 'system:unauthenticated', groups: ['system:unauthenticated'], anonymous: true };

export const SERVICE_ACCOUNT_PREFIX = 'kubesphere:serviceaccount:';
export const PRE_REGISTRATION_USER = 'system:pre-registration';

/**
 * A verified token's identity, grouped as KubeSphere's JWT authenticator groups it: users are exactly in
 * `system:authenticated`; service-account tokens (`sub` = `kubesphere:serviceaccount:…`) and the
 * pre-registration user are in no group.
 */
export function authenticated(user: string, sub?: string): Identity {
  const groupless = (sub ?? '').startsWith(SERVICE_ACCOUNT_PREFIX) || user === PRE_REGISTRATION_USER;
  return { user, group: 'system:authenticated', groups: groupless ? [] : ['system:authenticated'], anonymous: false };
}

/** `jwt`: tokens are verified; `off`: AUTH=none, explicitly; `misconfigured`: no key and no opt-out → fail closed. */
export type AuthMode = 'jwt' | 'off' | 'misconfigured';

export function authMode(env: { JWT_SECRET?: string; JWKS_URL?: string; AUTH?: string }): AuthMode {
  if (env.JWT_SECRET || env.JWKS_URL) return 'jwt';
  return env.AUTH === 'none' ? 'off' : 'misconfigured';
}

/**
 * `kubesphere`: KubeSphere's RBAC decides every extension request (the default whenever tokens are verified);
 * `none`: authentication only, explicitly; `off`: authentication is off, so there is no one to authorize;
 * `misconfigured`: an AUTHZ value the worker does not know → fail closed.
 */
export type AuthzMode = 'kubesphere' | 'none' | 'off' | 'misconfigured';

export function authzMode(env: { JWT_SECRET?: string; JWKS_URL?: string; AUTH?: string; AUTHZ?: string }): AuthzMode {
  if (authMode(env) !== 'jwt') return 'off';
  if (env.AUTHZ === undefined || env.AUTHZ === '' || env.AUTHZ === 'kubesphere') return 'kubesphere';
  return env.AUTHZ === 'none' ? 'none' : 'misconfigured';
}
