/**
 * Everything that is not an extension route goes to CORE_ORIGIN (the real ks-console / ks-apiserver) untouched
 * but for hop-by-hop headers and forged identity headers; without CORE_ORIGIN it is `404: Page Not Found`.
 * The core authenticates by itself, so its session cookie and Authorization pass through.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../env';
import { notFound } from '../errors';
import { clientResponse, forward } from '../proxy/forward';
import { hasNoBody, upstreamHeaders } from '../proxy/upstream-request';

const CORE_TIMEOUT_MS = 30_000;

export const core = async (c: Context<AppEnv>): Promise<Response> => {
  c.get('trace').route = { kind: 'core', name: c.env.CORE_ORIGIN ? 'CORE_ORIGIN' : 'none' };
  if (!c.env.CORE_ORIGIN) return notFound();
  // The path as it came: ks-apiserver handles /clusters/{c}/… itself (for a member, by proxying to it).
  const url = c.get('requestUrl');
  const headers = upstreamHeaders(c.req.raw, url, c.get('clientIp'), c.get('trace').context, true);
  const method = c.req.method;
  const result = await forward({
    url: c.env.CORE_ORIGIN.replace(/\/+$/, '') + url.pathname + url.search,
    method,
    headers,
    body: hasNoBody(method) ? null : c.req.raw.body,
    timeoutMs: CORE_TIMEOUT_MS,
  });
  c.get('trace').upstreamMs = result.ms;
  if ('failure' in result) return result.failure;
  return clientResponse(result.response);
};
