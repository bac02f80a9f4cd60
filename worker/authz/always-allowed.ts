/**
 * ks-apiserver's path authorizer: these paths are allowed for everyone, whatever the method (apiserver.go L272,
 * authorization/path/path.go). Matching drops the leading `/`; an entry ending in `*` is a prefix.
 */
const ALWAYS_ALLOWED = ['/oauth/*', '/dist/*', '/.well-known/openid-configuration', '/version', '/metrics', '/livez', '/healthz', '/openapi/v2', '/openapi/v3'];

const prefixes = ALWAYS_ALLOWED.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1));
const exact = new Set(ALWAYS_ALLOWED.filter((p) => !p.endsWith('*')));

export function alwaysAllowed(path: string): boolean {
  const p = path.charCodeAt(0) === 47 ? path : `/${path}`;
  if (exact.has(p)) return true;
  for (const prefix of prefixes) if (p.startsWith(prefix)) return true;
  return false;
}
