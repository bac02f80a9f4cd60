// Read-only KV for plain workerd: the gateway's KV binding sends `GET /<key>` here, answered from a disk service
// holding one file per key (written by the exporter's files target).
export default {
  async fetch(request, env) {
    if (request.method !== 'GET') return new Response('read-only KV', { status: 405 });
    const url = new URL(request.url);
    let key = url.pathname.slice(1);
    if (url.searchParams.get('urlencoded') === 'true') key = decodeURIComponent(key);
    if (!/^(current|(snapshot|bundle)\/[0-9a-f]{64})$/.test(key)) return new Response(null, { status: 404 });
    const file = await env.DISK.fetch(`http://disk/${key}`);
    if (!file.ok) return new Response(null, { status: 404 });
    return new Response(file.body, { status: 200 });
  },
};
