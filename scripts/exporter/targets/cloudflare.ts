/**
 * Cloudflare Workers KV over its REST API (what the exporter in the cluster writes to). Bulk writes and deletes,
 * split to respect the API's limits (10,000 pairs and 100 MB a request); 429 and 5xx retried with Retry-After;
 * at most one write a second to the same key, as KV allows; errors carry Cloudflare's own code and message.
 */
import type { KvEntry, KvTarget } from './kv-target';

export const DEFAULT_API_BASE = 'https://api.cloudflare.com/client/v4';
export const BULK_MAX_PAIRS = 10_000;
/** Below the API's 100 MB, leaving room for JSON framing. */
export const BULK_MAX_BYTES = 95 * 1024 * 1024;

export interface CloudflareConfig {
  accountId: string;
  namespaceId: string;
  apiToken: string;
  apiBase?: string;
  /** Attempts for a request answered 429 or 5xx (default 5). */
  attempts?: number;
}

export class CloudflareError extends Error {
  constructor(message: string, readonly status: number, readonly code?: number) {
    super(message);
  }
}

interface Envelope<T> { success: boolean; errors: { code: number; message: string }[]; result: T; result_info?: { cursor?: string; count?: number } }

export function cloudflareConfigFromEnv(env: NodeJS.ProcessEnv): CloudflareConfig {
  const missing = ['CLOUDFLARE_ACCOUNT_ID', 'CLOUDFLARE_API_TOKEN', 'KV_NAMESPACE_ID'].filter((k) => !env[k]);
  if (missing.length) throw new CloudflareError(`the cloudflare target needs ${missing.join(', ')} in the environment`, 0);
  return {
    accountId: env.CLOUDFLARE_ACCOUNT_ID!, namespaceId: env.KV_NAMESPACE_ID!, apiToken: env.CLOUDFLARE_API_TOKEN!,
    apiBase: env.CLOUDFLARE_API_BASE_URL || DEFAULT_API_BASE,
  };
}

export function cloudflareTarget(c: CloudflareConfig): KvTarget {
  const base = `${(c.apiBase ?? DEFAULT_API_BASE).replace(/\/+$/, '')}/accounts/${encodeURIComponent(c.accountId)}/storage/kv/namespaces/${encodeURIComponent(c.namespaceId)}`;
  const lastWrite = new Map<string, number>();

  async function call(method: string, path: string, body?: unknown): Promise<Response> {
    const attempts = c.attempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(base + path, {
        method,
        headers: { Authorization: `Bearer ${c.apiToken}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if ((res.status === 429 || res.status >= 500) && attempt < attempts) {
        await res.arrayBuffer();
        await sleep(retryAfterMs(res.headers.get('retry-after'), attempt));
        continue;
      }
      return res;
    }
  }

  async function envelope<T>(res: Response, what: string): Promise<Envelope<T>> {
    let parsed: Envelope<T> | undefined;
    try {
      parsed = (await res.json()) as Envelope<T>;
    } catch {
      /* not JSON */
    }
    if (res.ok && parsed?.success) return parsed;
    const err = parsed?.errors?.[0];
    const hint = res.status === 401 || res.status === 403 || err?.code === 10000
      ? ' — check CLOUDFLARE_API_TOKEN (it needs "Workers KV Storage: Edit" on this account) and CLOUDFLARE_ACCOUNT_ID'
      : res.status === 404 ? ' — check KV_NAMESPACE_ID and CLOUDFLARE_ACCOUNT_ID' : '';
    throw new CloudflareError(`Cloudflare API ${what}: HTTP ${res.status}${err ? ` (${err.code} ${err.message})` : ''}${hint}`, res.status, err?.code);
  }

  /** Waits so no key is written twice within a second (KV's per-key write limit). */
  async function pace(keys: string[]) {
    const now = Date.now();
    const wait = Math.max(0, ...keys.map((k) => (lastWrite.get(k) ?? 0) + 1000 - now));
    if (wait) await sleep(wait);
  }

  return {
    description: `Cloudflare KV ${c.namespaceId}`,
    async get(key) {
      const res = await call('GET', `/values/${encodeURIComponent(key)}`);
      if (res.status === 404) {
        await res.arrayBuffer();
        return null;
      }
      if (!res.ok) await envelope(res, `reading ${key}`);
      return res.text();
    },
    async listKeys(prefix) {
      const keys: string[] = [];
      let cursor = '';
      do {
        const q = new URLSearchParams({ prefix, limit: '1000', ...(cursor ? { cursor } : {}) });
        const page = await envelope<{ name: string }[]>(await call('GET', `/keys?${q}`), `listing ${prefix}*`);
        keys.push(...page.result.map((k) => k.name));
        cursor = page.result_info?.cursor ?? '';
      } while (cursor);
      return keys;
    },
    async putMany(entries: KvEntry[]) {
      for (const batch of batches(entries)) {
        await pace(batch.map((e) => e.key));
        const body = batch.map((e) => (typeof e.value === 'string'
          ? { key: e.key, value: e.value }
          : { key: e.key, value: Buffer.from(e.value).toString('base64'), base64: true }));
        const out = await envelope<{ unsuccessful_keys?: string[] }>(await call('PUT', '/bulk', body), `writing ${batch.length} keys`);
        if (out.result?.unsuccessful_keys?.length) throw new CloudflareError(`Cloudflare API wrote some keys only; failed: ${out.result.unsuccessful_keys.join(', ')}`, 200);
        const now = Date.now();
        for (const e of batch) lastWrite.set(e.key, now);
      }
    },
    async deleteMany(keys) {
      for (let i = 0; i < keys.length; i += BULK_MAX_PAIRS) {
        const chunk = keys.slice(i, i + BULK_MAX_PAIRS);
        await envelope(await call('POST', '/bulk/delete', chunk), `deleting ${chunk.length} keys`);
      }
    },
    close: async () => {},
  };
}

/** Splits entries into requests within the bulk API's pair and size limits (base64 counted for binary values). */
export function batches(entries: KvEntry[]): KvEntry[][] {
  const out: KvEntry[][] = [];
  let current: KvEntry[] = [];
  let bytes = 0;
  for (const e of entries) {
    const size = e.key.length + 64 + (typeof e.value === 'string' ? Buffer.byteLength(e.value) * 1.1 : Math.ceil(e.value.byteLength / 3) * 4);
    if (current.length && (current.length >= BULK_MAX_PAIRS || bytes + size > BULK_MAX_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(e);
    bytes += size;
  }
  if (current.length) out.push(current);
  return out;
}

function retryAfterMs(header: string | null, attempt: number): number {
  const seconds = header === null ? NaN : Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, 60_000);
  return Math.min(250 * 2 ** attempt, 10_000);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
