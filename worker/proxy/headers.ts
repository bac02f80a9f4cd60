/** Header rules shared by every proxied request (SPEC §3 "Headers"), each done in one pass over the headers. */

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer',
  'transfer-encoding', 'upgrade',
]);

export interface Sanitize {
  /** Keep `Upgrade`/`Connection` (a WebSocket handshake). */
  keepUpgrade: boolean;
  /** Remove client-sent `X-Remote-*` (requests). */
  dropRemoteIdentity: boolean;
  /** Remove this cookie from `Cookie` (the session token). */
  dropCookie?: string;
}

/**
 * Removes hop-by-hop headers (with those named in `Connection`), and as asked forged identity headers and the
 * session cookie — in one pass, since every Headers call crosses into the runtime.
 */
export function sanitize(headers: Headers, o: Sanitize): void {
  const connection = headers.get('connection');
  const named = connection ? connection.toLowerCase().split(',').map((s) => s.trim()).filter((s) => s && s !== 'upgrade') : [];
  const doomed: string[] = [];
  let hasCookie = false;
  for (const name of headers.keys()) {
    if (HOP_BY_HOP.has(name)) {
      if (!(o.keepUpgrade && (name === 'upgrade' || name === 'connection'))) doomed.push(name);
    } else if (o.dropRemoteIdentity && name.startsWith('x-remote-')) doomed.push(name);
    else if (name === 'cookie') hasCookie = true;
  }
  for (const name of named) if (!(o.keepUpgrade && name === 'upgrade')) doomed.push(name);
  for (const name of doomed) headers.delete(name);
  if (o.keepUpgrade) headers.set('connection', 'Upgrade');
  if (hasCookie && o.dropCookie) removeCookie(headers, headers.get('cookie') ?? '', o.dropCookie);
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

function removeCookie(headers: Headers, cookie: string, cookieName: string): void {
  if (!cookie.includes(`${cookieName}=`)) return;
  const kept = cookie
    .split(';')
    .map((s) => s.trim())
    .filter((pair) => pair && pair.split('=', 1)[0]!.trim() !== cookieName);
  if (kept.length) headers.set('cookie', kept.join('; '));
  else headers.delete('cookie');
}

/** X-Forwarded-For is set (never appended to a client's value): the edge knows the client address. */
export function setForwarded(headers: Headers, url: URL, clientIp: string | undefined): void {
  if (clientIp) headers.set('x-forwarded-for', clientIp);
  else headers.delete('x-forwarded-for');
  headers.set('x-forwarded-host', url.host);
  headers.set('x-forwarded-proto', url.protocol === 'https:' ? 'https' : 'http');
}

export function setIdentity(headers: Headers, user: string, group: string): void {
  headers.set('x-remote-user', user);
  headers.set('x-remote-group', group);
}
