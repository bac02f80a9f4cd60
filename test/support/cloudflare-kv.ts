/**
 * A local stand-in for Cloudflare's Workers KV REST API (the one part that cannot run here), speaking its wire
 * format: the `{success, errors, messages, result, result_info}` envelope, bearer-token auth errors (code 10000),
 * `values/{key}` reads with 404 code 10009, cursor-paged `keys`, `PUT bulk` with `base64` values and its 10,000-pair
 * and 100 MB limits, `POST bulk/delete`, and 429s with Retry-After on demand.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface KvRequest { method: string; path: string; at: number; keys?: string[] }

export interface FakeKv {
  base: string;
  store: Map<string, Buffer>;
  log: KvRequest[];
  /** Answer the next N requests with 429 and Retry-After: 1. */
  throttleNext(n: number): void;
  /** From the Nth bulk write on, answer every bulk write with a 500 envelope (retries fail too). */
  failBulkWritesFrom(nth: number): void;
  close(): Promise<void>;
}

const envelope = (res: ServerResponse, status: number, result: unknown, errors: { code: number; message: string }[] = [], extra: Record<string, unknown> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ success: errors.length === 0, errors, messages: [], result, ...extra }));
};

export async function startFakeKv(opts: { account: string; namespace: string; token: string }): Promise<FakeKv> {
  const store = new Map<string, Buffer>();
  const log: KvRequest[] = [];
  let throttle = 0;
  let failIn = 0;
  const prefix = `/client/v4/accounts/${opts.account}/storage/kv/namespaces/${opts.namespace}`;

  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url!, 'http://x');
    const entry: KvRequest = { method: req.method!, path: url.pathname, at: Date.now() };
    log.push(entry);
    if (req.headers.authorization !== `Bearer ${opts.token}`) {
      return envelope(res, 403, null, [{ code: 10000, message: 'Authentication error' }]);
    }
    if (throttle > 0) {
      throttle--;
      res.setHeader('retry-after', '1');
      return envelope(res, 429, null, [{ code: 10429, message: 'Too many requests' }]);
    }
    if (!url.pathname.startsWith(prefix)) return envelope(res, 404, null, [{ code: 10013, message: 'namespace not found' }]);
    const rest = url.pathname.slice(prefix.length);
    if (req.method === 'GET' && rest.startsWith('/values/')) {
      const key = decodeURIComponent(rest.slice('/values/'.length));
      const value = store.get(key);
      if (!value) return envelope(res, 404, null, [{ code: 10009, message: "get: 'key not found'" }]);
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return res.end(value);
    }
    if (req.method === 'GET' && rest === '/keys') {
      const limit = Math.min(1000, Math.max(10, Number(url.searchParams.get('limit') ?? 1000)));
      const keys = [...store.keys()].filter((k) => k.startsWith(url.searchParams.get('prefix') ?? '')).sort();
      const start = Number(url.searchParams.get('cursor') || 0);
      const page = keys.slice(start, start + limit);
      const next = start + limit < keys.length ? String(start + limit) : '';
      return envelope(res, 200, page.map((name) => ({ name })), [], { result_info: { count: page.length, cursor: next } });
    }
    if (req.method === 'PUT' && rest === '/bulk') {
      if (body.length > 100 * 1024 * 1024) return envelope(res, 413, null, [{ code: 10011, message: 'request too large' }]);
      const pairs = JSON.parse(body.toString()) as { key: string; value: string; base64?: boolean }[];
      if (pairs.length > 10_000) return envelope(res, 400, null, [{ code: 10012, message: 'too many pairs' }]);
      entry.keys = pairs.map((p) => p.key);
      if (failIn > 0 && --failIn <= 0) {
        failIn = 1;
        return envelope(res, 500, null, [{ code: 10001, message: 'internal error' }]);
      }
      for (const p of pairs) store.set(p.key, p.base64 ? Buffer.from(p.value, 'base64') : Buffer.from(p.value));
      return envelope(res, 200, { successful_key_count: pairs.length, unsuccessful_keys: [] });
    }
    if (req.method === 'POST' && rest === '/bulk/delete') {
      const keys = JSON.parse(body.toString()) as string[];
      entry.keys = keys;
      for (const k of keys) store.delete(k);
      return envelope(res, 200, { successful_key_count: keys.length, unsuccessful_keys: [] });
    }
    return envelope(res, 405, null, [{ code: 10405, message: 'method not allowed' }]);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/client/v4`,
    store, log,
    throttleNext: (n) => (throttle = n),
    failBulkWritesFrom: (nth) => (failIn = nth),
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
