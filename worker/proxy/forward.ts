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
}

export type Inbound = { response: Response } | { failure: Response };

export async function forward(out: Outbound): Promise<Inbound> {
  try {
    // One native timer: no JS timer, race or controller per request. On workerd a signal that fires after the
    // response headers does not cut the body (a fidelity test pins this), so it bounds the wait for headers only.
    const init: RequestInit = { method: out.method, headers: out.headers, body: out.body, redirect: 'manual', signal: AbortSignal.timeout(out.timeoutMs) };
    return { response: await (out.binding ? out.binding.fetch(out.url, init) : fetch(out.url, init)) };
  } catch (e) {
    if ((e as Error).name === 'TimeoutError') return { failure: proxyError(504, `Timeout: no response from upstream within ${out.timeoutMs} ms`) };
    return { failure: badGateway((e as Error).message || String(e)) };
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
