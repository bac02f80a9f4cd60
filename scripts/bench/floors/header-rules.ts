// The SPEC's header rules without Hono or routing: copy and sanitize the request headers (hop-by-hop, X-Remote-*,
// Host, forwarding headers, the route's headerUp), send, then rebuild the response with hop-by-hop removed and
// the route's headerDown — what every proxied request must pay.
declare const UPSTREAM: string;
const HOP = ['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];
export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const headers = new Headers(request.headers);
    const doomed: string[] = [];
    for (const name of headers.keys()) if (HOP.includes(name) || name.startsWith('x-remote-')) doomed.push(name);
    for (const name of doomed) headers.delete(name);
    headers.delete('host');
    headers.set('x-forwarded-host', url.host);
    headers.set('x-forwarded-proto', 'http');
    headers.delete('authorization');
    headers.set('x-ext', 'bench');
    const upstream = await fetch(UPSTREAM + url.pathname.slice('/bench'.length) + url.search, { method: request.method, headers, redirect: 'manual' });
    const response = new Response(upstream.body, upstream);
    for (const name of HOP) response.headers.delete(name);
    response.headers.set('x-served-by', 'edge');
    return response;
  },
};
