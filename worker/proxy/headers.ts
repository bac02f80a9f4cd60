/** Header rules shared by APIService and ReverseProxy forwarding (SPEC §3 "Headers"). */

const HOP_BY_HOP = [
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer',
  'transfer-encoding', 'upgrade',
];

/** Hop-by-hop headers, including those named in `Connection`; `Upgrade`/`Connection` survive a WebSocket upgrade. */
export function removeHopByHop(headers: Headers, keepUpgrade = false): void {
  const named = (headers.get('connection') ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s && s !== 'upgrade');
  for (const name of [...HOP_BY_HOP, ...named]) {
    if (keepUpgrade && (name === 'upgrade' || name === 'connection')) continue;
    headers.delete(name);
  }
  if (keepUpgrade) headers.set('connection', 'Upgrade');
}

export function isWebSocketUpgrade(headers: Headers): boolean {
  return (headers.get('upgrade') ?? '').toLowerCase() === 'websocket';
}

/** Client-sent identity headers are never trusted. */
export function removeRemoteIdentity(headers: Headers): void {
  const doomed: string[] = [];
  for (const [name] of headers) if (name.startsWith('x-remote-')) doomed.push(name);
  for (const name of doomed) headers.delete(name);
}

/** The session cookie that carried the console's token never leaves the edge. */
export function removeCookie(headers: Headers, cookieName: string): void {
  const cookie = headers.get('cookie');
  if (!cookie) return;
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
  headers.set('x-forwarded-proto', url.protocol.replace(':', ''));
}

export function setIdentity(headers: Headers, user: string, group: string): void {
  headers.set('x-remote-user', user);
  headers.set('x-remote-group', group);
}
