// Read-only KV for plain workerd: the gateway's KV binding sends `GET /<key>` here (and `GET /?prefix=…` to list),
// answered from a disk service holding one file per key (written by the exporter's files target).
const KEY = /^(current|pointer\/[a-z0-9-]{1,63}|(snapshot|snapshot-body|bundle)\/[0-9a-f]{64})$/;

export default {
  async fetch(request, env) {
    if (request.method !== 'GET') return new Response('read-only KV', { status: 405 });
    const url = new URL(request.url);
    if (url.pathname === '/' || url.pathname === '') return list(env, url.searchParams.get('prefix') ?? '');
    let key = url.pathname.slice(1);
    if (url.searchParams.get('urlencoded') === 'true') key = decodeURIComponent(key);
    if (!KEY.test(key)) return new Response(null, { status: 404 });
    const file = await env.DISK.fetch(`http://disk/${key}`);
    if (!file.ok) return new Response(null, { status: 404 });
    return new Response(file.body, { status: 200 });
  },
};

/** Lists the keys of one directory (`pointer/`, `snapshot/`, `bundle/`): the only prefixes the gateway lists. */
async function list(env, prefix) {
  const dir = prefix.endsWith('/') ? prefix : '';
  const res = dir && /^[a-z-]+\/$/.test(dir) ? await env.DISK.fetch(`http://disk/${dir}`) : undefined;
  const entries = res?.ok ? await res.json() : [];
  const keys = entries.filter((e) => e.type === 'file').map((e) => ({ name: dir + e.name })).filter((k) => k.name.startsWith(prefix));
  return new Response(JSON.stringify({ keys, list_complete: true, cacheStatus: null }), { headers: { 'content-type': 'application/json' } });
}
