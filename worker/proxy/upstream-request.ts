/** The upstream request headers every proxied route starts from (SPEC §3 "Headers"). */
import { TOKEN_COOKIE } from '../auth/token';
import { isWebSocketUpgrade, sanitize, setForwarded } from './headers';

/** `keepSessionCookie`: only for CORE_ORIGIN, which authenticates by itself with the console's cookie. */
export function upstreamHeaders(request: Request, url: URL, clientIp: string | undefined, keepSessionCookie = false): Headers {
  const headers = new Headers(request.headers);
  const webSocket = isWebSocketUpgrade(headers);
  sanitize(headers, { keepUpgrade: webSocket, dropRemoteIdentity: true, dropCookie: keepSessionCookie ? undefined : TOKEN_COOKIE });
  headers.delete('host');
  setForwarded(headers, url, clientIp);
  return headers;
}

export const hasNoBody = (method: string) => method === 'GET' || method === 'HEAD';
