/** The upstream request headers every proxied route starts from (SPEC §3 "Headers"). */
import { SESSION_COOKIES } from '../auth/token';
import { isWebSocketUpgrade, sanitize, setForwarded } from './headers';
import { propagate, type TraceContext } from '../observe/trace-context';

/**
 * `keepSessionCookie`: only for CORE_ORIGIN, which authenticates by itself with the console's cookies. Forged
 * identity and routing headers are removed for every upstream, the core included.
 */
export function upstreamHeaders(request: Request, url: URL, clientIp: string | undefined, trace: TraceContext | undefined, keepSessionCookie = false): Headers {
  const headers = new Headers(request.headers);
  const webSocket = isWebSocketUpgrade(headers);
  sanitize(headers, { keepUpgrade: webSocket, dropForged: true, dropCookies: keepSessionCookie ? undefined : SESSION_COOKIES });
  headers.delete('host');
  setForwarded(headers, url, clientIp);
  if (trace) propagate(headers, trace);
  return headers;
}

export const hasNoBody = (method: string) => method === 'GET' || method === 'HEAD';
