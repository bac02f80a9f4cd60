/**
 * Sends a prepared request upstream and turns transport failures into SPEC §6 errors. Bodies are streams both ways;
 * nothing here reads them. The timeout covers the wait for response headers only, so long streams are not cut.
 */
import { badGateway, proxyError } from '../errors';
import { removeHopByHop } from './headers';

export interface Outbound {
  url: string;
  method: string;
  headers: Headers;
  body: ReadableStream | null;
  timeoutMs: number;
  binding?: Fetcher;
  webSocket: boolean;
  /** The client request's signal: its disconnect cancels the upstream request. */
  clientSignal?: AbortSignal;
}

export type Inbound = { response: Response } | { failure: Response };

export async function forward(out: Outbound): Promise<Inbound> {
  const abort = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, out.timeoutMs);
  try {
    const signal = out.clientSignal ? AbortSignal.any([abort.signal, out.clientSignal]) : abort.signal;
    const init: RequestInit = { method: out.method, headers: out.headers, body: out.body, redirect: 'manual', signal };
    const response = await (out.binding ? out.binding.fetch(out.url, init) : fetch(out.url, init));
    return { response };
  } catch (e) {
    if (timedOut) return { failure: proxyError(504, `Timeout: no response from upstream within ${out.timeoutMs} ms`) };
    return { failure: badGateway((e as Error).message || String(e)) };
  } finally {
    clearTimeout(timer);
  }
}

/** The response headers to send back: upstream's, less hop-by-hop (WebSocket handshakes keep theirs). */
export function responseHeaders(upstream: Response): Headers {
  const headers = new Headers(upstream.headers);
  removeHopByHop(headers, upstream.status === 101);
  return headers;
}

/** Rebuilds the client response around the upstream body (or WebSocket) with the given headers. */
export function clientResponse(upstream: Response, headers: Headers): Response {
  if (upstream.status === 101 && upstream.webSocket) {
    return new Response(null, { status: 101, headers, webSocket: upstream.webSocket });
  }
  return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers });
}
