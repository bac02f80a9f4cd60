/** Header rules shared by every proxied request (SPEC §3 "Headers"), each done in one pass over the headers. */

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer',
  'transfer-encoding', 'upgrade',
]);

/**
 * Headers a client could use to forge who it is or where its request goes: identity (every `X-Remote-*`), the
 * original client and URL, and method overrides. Compared with `_` read as `-`, since WSGI/CGI upstreams read
 * `X_Remote_User` as `X-Remote-User`.
 */
const FORGED = new Set([
  'forwarded', 'x-real-ip', 'x-original-url', 'x-rewrite-url', 'x-http-method-override', 'x-http-method', 'x-method-override',
  // What upstreams behind an auth proxy or a load balancer take as the user, the client or the original URL.
  'x-forwarded-user', 'x-forwarded-email', 'x-forwarded-groups', 'x-forwarded-preferred-username', 'x-auth-request-user',
  'x-auth-request-email', 'remote-user', 'x-forwarded-uri', 'x-forwarded-prefix', 'x-forwarded-port', 'x-forwarded-server',
  'x-original-uri', 'x-original-host', 'true-client-ip', 'x-client-ip',
]);

export function isForged(name: string): boolean {
  const n = name.includes('_') ? name.replace(/_/g, '-') : name;
  return n.startsWith('x-remote-') || FORGED.has(n);
}

export interface Sanitize {
  /** Keep `Upgrade`/`Connection` (a WebSocket handshake). */
  keepUpgrade: boolean;
  /** Remove client-sent identity and routing headers (requests). */
  dropForged: boolean;
  /** Remove these cookies from `Cookie` (the console's session). */
  dropCookies?: readonly string[];
}

/**
 * Removes hop-by-hop headers (with those named in `Connection`), and as asked forged identity and routing headers
 * and the session cookies — in one pass, since every Headers call crosses into the runtime.
 */
export function sanitize(headers: Headers, o: Sanitize): void {
  const connection = headers.get('connection');
  const named = connection ? connection.toLowerCase().split(',').map((s) => s.trim()).filter((s) => s && s !== 'upgrade') : [];
  const doomed: string[] = [];
  let hasCookie = false;
  for (const name of headers.keys()) {
    if (HOP_BY_HOP.has(name)) {
      if (!(o.keepUpgrade && (name === 'upgrade' || name === 'connection'))) doomed.push(name);
    } else if (o.dropForged && isForged(name)) doomed.push(name);
    else if (name === 'cookie') hasCookie = true;
  }
  for (const name of named) if (!(o.keepUpgrade && name === 'upgrade')) doomed.push(name);
  for (const name of doomed) headers.delete(name);
  if (o.keepUpgrade) headers.set('connection', 'Upgrade');
  if (hasCookie && o.dropCookies?.length) removeCookies(headers, headers.get('cookie') ?? '', o.dropCookies);
}

/** Hop-by-hop headers of a response: deletes by name, no iteration (nothing here needs a prefix match). */
export function sanitizeResponse(headers: Headers, keepUpgrade: boolean): void {
  const connection = headers.get('connection');
  for (const name of HOP_BY_HOP) if (!(keepUpgrade && (name === 'upgrade' || name === 'connection'))) headers.delete(name);
  if (connection) {
    for (const named of connection.toLowerCase().split(',')) {
      const name = named.trim();
      if (name && !(keepUpgrade && name === 'upgrade')) headers.delete(name);
    }
  }
  if (keepUpgrade) headers.set('connection', 'Upgrade');
}

export function isWebSocketUpgrade(headers: Headers): boolean {
  const upgrade = headers.get('upgrade');
  return upgrade !== null && upgrade.toLowerCase() === 'websocket';
}

/** Removes the named cookies whatever their spacing (`token =x` is the cookie `token` to browsers and Go). */
function removeCookies(headers: Headers, cookie: string, names: readonly string[]): void {
  // Two Cookie headers arrive joined with ", ": a session cookie must not hide behind the join.
  const pairs = cookie.split(';').flatMap((p) => (p.includes(',') ? p.split(/,(?=\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+\s*=)/) : [p]));
  const kept = pairs.filter((pair) => {
    const eq = pair.indexOf('=');
    return pair.trim() !== '' && !names.includes((eq < 0 ? pair : pair.slice(0, eq)).trim());
  });
  if (kept.length === pairs.length) return;
  if (kept.length) headers.set('cookie', kept.map((p) => p.trim()).join('; '));
  else headers.delete('cookie');
}

/** X-Forwarded-For and X-Real-IP are set (never taken from the client): the edge knows the client address. */
export function setForwarded(headers: Headers, url: URL, clientIp: string | undefined): void {
  if (clientIp) {
    headers.set('x-forwarded-for', clientIp);
    headers.set('x-real-ip', clientIp);
  } else headers.delete('x-forwarded-for');
  headers.set('x-forwarded-host', url.host);
  headers.set('x-forwarded-proto', url.protocol === 'https:' ? 'https' : 'http');
}

export function setIdentity(headers: Headers, user: string, group: string): void {
  headers.set('x-remote-user', user);
  headers.set('x-remote-group', group);
}
