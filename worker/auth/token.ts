/**
 * Where KubeSphere clients put their token: Authorization, X-KubeSphere-Authorization, then the `token` cookie.
 * A present Authorization header that is not exactly one well-formed `Bearer <token>` is an error, never a reason
 * to fall back to the cookie (a client that sends a bad header must not be taken for the cookie's owner).
 */
export const TOKEN_COOKIE = 'token';
/** The console's session cookies: never forwarded to extension upstreams. */
export const SESSION_COOKIES = ['token', 'refreshToken'] as const;

// The scheme compares case-insensitively, as Kubernetes' bearer-token authenticator reads it (`strings.ToLower`).
const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i;

export type Bearer = { token: string } | { malformed: string } | undefined;

export function bearerToken(headers: Headers): Bearer {
  for (const name of ['authorization', 'x-kubesphere-authorization']) {
    const value = headers.get(name);
    if (value === null) continue;
    const m = BEARER.exec(value.trim());
    if (m) return { token: m[1]! };
    // Two headers arrive joined with ", ", which no single bearer token contains.
    return { malformed: `the ${name === 'authorization' ? 'Authorization' : 'X-KubeSphere-Authorization'} header is not one "Bearer <token>"` };
  }
  const cookie = cookieValue(headers.get('cookie'), TOKEN_COOKIE);
  return cookie === undefined ? undefined : { token: cookie };
}

/** A cookie's value; names compare after trimming, as browsers and Go's net/http read `token =x` as `token`. */
export function cookieValue(cookie: string | null, name: string): string | undefined {
  if (!cookie) return undefined;
  for (const pair of cookie.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    if (pair.slice(0, eq).trim() === name) {
      const value = pair.slice(eq + 1).trim();
      return value === '' ? undefined : value;
    }
  }
  return undefined;
}
