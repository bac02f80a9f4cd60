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
  /** `ks-edge.io/retries`: attempts after a connection failure (idempotent methods without a body only). */
  retries?: number;
}

/** `retried`: how many times the request was sent again after a connection failure; `ms`: the wait for headers. */
export type Inbound = ({ response: Response } | { failure: Response }) & { retried: number; ms: number };

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/**
 * Retries only what is safe to send twice: an idempotent method, no request body (a streamed body cannot be sent
 * again once read), and a connection failure — never a timeout, and never once the upstream has answered.
 */
export async function forward(out: Outbound): Promise<Inbound> {
  const started = Date.now();
  const r = await send(out);
  return { ...r, ms: Date.now() - started } as Inbound;
}

async function send(out: Outbound): Promise<({ response: Response } | { failure: Response }) & { retried: number }> {
  const attempts = out.body === null && IDEMPOTENT.has(out.method) ? 1 + (out.retries ?? 0) : 1;
  for (let retried = 0; ; retried++) {
    try {
      // One native timer: no JS timer, race or controller per request. On workerd a signal that fires after the
      // response headers does not cut the body (a fidelity test pins this), so it bounds the wait for headers only.
      const init: RequestInit = { method: out.method, headers: out.headers, body: out.body, redirect: 'manual', signal: AbortSignal.timeout(out.timeoutMs) };
      return { response: await (out.binding ? out.binding.fetch(out.url, init) : fetch(out.url, init)), retried };
    } catch (e) {
      if ((e as Error).name === 'TimeoutError') return { failure: proxyError(504, `Timeout: no response from upstream within ${out.timeoutMs} ms`), retried };
      if ((e as Error).name === 'AbortError') return { failure: badGateway('the request was cancelled'), retried };
      if (retried + 1 >= attempts) return { failure: badGateway((e as Error).message || String(e)), retried };
    }
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
