/** Who is calling, as the identity headers tell upstreams (`X-Remote-User`, `X-Remote-Group`). */
export interface Identity {
  user: string;
  group: 'system:authenticated' | 'system:unauthenticated';
  anonymous: boolean;
}

export const ANONYMOUS: Identity = { user: 'system:anonymous', group: 'system:unauthenticated', anonymous: true };

export const authenticated = (user: string): Identity => ({ user, group: 'system:authenticated', anonymous: false });

/** `jwt`: tokens are verified; `off`: AUTH=none, explicitly; `misconfigured`: no key and no opt-out → fail closed. */
export type AuthMode = 'jwt' | 'off' | 'misconfigured';

export function authMode(env: { JWT_SECRET?: string; JWKS_URL?: string; AUTH?: string }): AuthMode {
  if (env.JWT_SECRET || env.JWKS_URL) return 'jwt';
  return env.AUTH === 'none' ? 'off' : 'misconfigured';
}
