// Times what a cold gateway's load waits for in KV, through the same KV binding, from a worker of its own:
// GET /?hash=<snapshot> reads the host's pointer, then the snapshot's head and body together, and answers the
// milliseconds. workerd's clock moves only with I/O, and this worker does nothing else, so that is the reads' time.
export default {
  async fetch(request, env) {
    const hash = new URL(request.url).searchParams.get('hash');
    const t0 = Date.now();
    await env.KV.get('pointer/host', 'text');
    await Promise.all([env.KV.get(`snapshot/${hash}`, 'arrayBuffer'), env.KV.get(`snapshot-body/${hash}`, 'arrayBuffer')]);
    return new Response(String(Date.now() - t0));
  },
};
