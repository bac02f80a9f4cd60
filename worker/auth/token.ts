/** Where KubeSphere clients put their token: Authorization, X-KubeSphere-Authorization, then the `token` cookie. */
export const TOKEN_COOKIE = 'token';

export function bearerToken(headers: Headers): string | undefined {
  for (const name of ['authorization', 'x-kubesphere-authorization']) {
    const value = headers.get(name);
    const m = value && /^Bearer\s+(\S+)\s*$/i.exec(value);
    if (m) return m[1];
  }
  return cookieValue(headers.get('cookie'), TOKEN_COOKIE);
}

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
