/** The upstream request headers every proxied route starts from (SPEC §3 "Headers"). */
import { TOKEN_COOKIE } from '../auth/token';
import { isWebSocketUpgrade, sanitize, setForwarded } from './headers';

export function upstreamHeaders(request: Request, url: URL, clientIp: string | undefined): Headers {
  const headers = new Headers(request.headers);
  const webSocket = isWebSocketUpgrade(headers);
  sanitize(headers, { keepUpgrade: webSocket, dropRemoteIdentity: true, dropCookie: TOKEN_COOKIE });
  headers.delete('host');
  setForwarded(headers, url, clientIp);
  return headers;
}

export const hasNoBody = (method: string) => method === 'GET' || method === 'HEAD';
