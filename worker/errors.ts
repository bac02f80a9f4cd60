/**
 * Error responses with the bodies KubeSphere's ks-apiserver sends (SPEC §6): proxy failures as `ErrStatus`,
 * authentication and throttling as a Kubernetes `Status`. Upstream errors are never rewritten.
 */
import { redactCredentials } from './redact';

export type ProxyFailure = 502 | 503 | 504;

const PROXY_REASON: Record<ProxyFailure, string> = {
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

const json = (body: unknown, status: number, headers?: HeadersInit) => {
  const h = new Headers(headers);
  h.set('Content-Type', 'application/json');
  h.set('Cache-Control', 'no-store');
  return new Response(JSON.stringify(body), { status, headers: h });
};

/** Messages are redacted: a runtime's error text may carry an upstream URL with its credentials. */
export function proxyError(code: ProxyFailure, message: string): Response {
  return json({ ErrStatus: { metadata: {}, status: 'Failure', message: redactCredentials(message), reason: PROXY_REASON[code], code } }, code);
}

export const badGateway = (cause: string) => proxyError(502, `Error while proxying request: ${cause}`);

export type StatusReason = 'Unauthorized' | 'Forbidden' | 'TooManyRequests' | 'InternalError' | 'BadRequest';

export function kubeStatus(code: number, reason: StatusReason, message: string, headers?: HeadersInit): Response {
  return json({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }, code, headers);
}

/** An encoded dot segment or slash that would take the request outside the route it matched. */
export const pathEscapes = () => kubeStatus(400, 'BadRequest', 'the request path leaves the route it matched once decoded');

export const notFound = () =>
  new Response('404: Page Not Found', { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
