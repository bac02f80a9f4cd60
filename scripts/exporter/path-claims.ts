/**
 * Which paths a ReverseProxy may claim (SPEC §2.3). KubeSphere's code routes ReverseProxies under `/proxy/`, and its
 * document writes them under `/res/`; those two are open to every extension. Any other path needs the annotation
 * `ks-edge.io/claim-path: "true"`, and some paths can never be claimed: `/`, a bare `/*`, and every path the
 * console or ks-apiserver owns (a ReverseProxy on `/login` would receive the console's password form).
 */
export const CLAIM_PATH_ANNOTATION = 'ks-edge.io/claim-path';

export const OPEN_PREFIXES = ['/proxy/', '/res/'] as const;

/**
 * Owned by ks-apiserver and ks-console. An entry ending in `/` covers that directory (and the bare name); any other
 * entry covers that page and everything below it.
 */
export const RESERVED_PATHS = [
  '/api/', '/apis/', '/kapis/', '/kapi/', '/oauth/', '/login', '/logout', '/dist/', '/pstatic/', '/clusters/', '/_gateway/',
  // ks-console's own pages and assets
  '/dashboard', '/workspaces', '/access', '/settings', '/apps', '/extensions', '/marketplace', '/user', '/static/',
  '/assets/', '/favicon.ico', '/sw.js', '/manifest.json', '/robots.txt',
] as const;

/** The reserved path a matcher would claim (exactly, below it, or as a prefix that covers it), if any. */
export function claimsReservedPath(matcherPath: string): string | undefined {
  const isPrefix = matcherPath.endsWith('*');
  const claimed = isPrefix ? matcherPath.slice(0, -1) : matcherPath;
  for (const reserved of RESERVED_PATHS) {
    const dir = reserved.endsWith('/');
    const bare = dir ? reserved.slice(0, -1) : reserved;
    if (claimed === bare || claimed.startsWith(dir ? reserved : `${reserved}/`)) return reserved;
    if (isPrefix && reserved.startsWith(claimed)) return reserved;
  }
  return undefined;
}

/** Why a matcher path may not be claimed, or undefined when it may. */
export function pathClaimProblem(matcherPath: string, claimAnnotated: boolean): string | undefined {
  const q = JSON.stringify(matcherPath);
  if (matcherPath === '/' || matcherPath === '/*') return `matcher path ${q} would take every path of the console and can never be claimed`;
  const reserved = claimsReservedPath(matcherPath);
  if (reserved) return `matcher path ${q} claims ${reserved}, which KubeSphere's console or ks-apiserver owns and can never be claimed`;
  const claimed = matcherPath.endsWith('*') ? matcherPath.slice(0, -1) : matcherPath;
  if (!OPEN_PREFIXES.some((p) => claimed.startsWith(p)) && !claimAnnotated) {
    return `matcher path ${q} is outside ${OPEN_PREFIXES.join(' and ')}: annotate the resource ${CLAIM_PATH_ANNOTATION}: "true" to claim it`;
  }
  return undefined;
}
