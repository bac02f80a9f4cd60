/**
 * Sends a prepared request upstream and turns transport failures into SPEC §6 errors. Bodies are streams both ways;
 * nothing here reads them. The timeout covers the wait for response headers only, so long streams are not cut.
 */
import { badGateway, proxyError } from '../errors';
import { sanitizeResponse } from './headers';

export interface Outbound {
  url: string;
  method: string;
  headers: Headers;
  body: ReadableStream | null;
  timeoutMs: number;
  binding?: Fetcher;
  webSocket: boolean;
}

export type Inbound = { response: Response } | { failure: Response };

export async function forward(out: Outbound): Promise<Inbound> {
  // A race, not an AbortController: when the 504 completes the request, the runtime cancels the pending
  // subrequest, and no controller or signal is allocated per request.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), out.timeoutMs)));
  try {
    const init: RequestInit = { method: out.method, headers: out.headers, body: out.body, redirect: 'manual' };
    const response = await Promise.race([out.binding ? out.binding.fetch(out.url, init) : fetch(out.url, init), timeout]);
    if (response === 'timeout') return { failure: proxyError(504, `Timeout: no response from upstream within ${out.timeoutMs} ms`) };
    return { response };
  } catch (e) {
    return { failure: badGateway((e as Error).message || String(e)) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The response for the client: the upstream's status, body (or WebSocket) and headers, less hop-by-hop ones
 * (a WebSocket handshake keeps its own), with mutable headers for headerDown.
 */
export function clientResponse(upstream: Response): Response {
  const response = upstream.status === 101 && upstream.webSocket
    ? new Response(null, { status: 101, headers: upstream.headers, webSocket: upstream.webSocket })
    : new Response(upstream.body, upstream);
  sanitizeResponse(response.headers, upstream.status === 101);
  return response;
}
