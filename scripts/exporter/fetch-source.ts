/**
 * Fetches a bundle source over HTTP(S) at export time, inside the cluster, so `caBundle` and `insecureSkipVerify`
 * are honoured here (Node's TLS options), unlike at the edge. In-cluster hosts go through CLUSTER_ORIGIN when it
 * is set (the exporter run outside the cluster), exactly as the worker maps them.
 */
import http from 'node:http';
import https from 'node:https';
import { resolveOrigin } from '../../worker/proxy/cluster-origin';
import type { Upstream } from '../../worker/model/snapshot';

export const KV_VALUE_LIMIT = 25 * 1024 * 1024;

export interface Fetched { bytes: Buffer; contentType: string | undefined }

export interface FetchOptions {
  url: URL;
  upstream: Upstream;
  clusterOrigin: string | undefined;
  ca?: Buffer;
  insecure: boolean;
  timeoutMs?: number;
}

export function targetUrl(o: Pick<FetchOptions, 'url' | 'upstream' | 'clusterOrigin'>): URL {
  if (!o.upstream.cluster || !o.clusterOrigin) return o.url;
  const mapped = resolveOrigin(o.upstream, { CLUSTER_ORIGIN: o.clusterOrigin });
  if ('error' in mapped) throw new Error(mapped.error);
  return new URL(mapped.base + o.url.pathname + o.url.search);
}

export function fetchSource(o: FetchOptions): Promise<Fetched> {
  const url = targetUrl(o);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(url, { ca: o.ca, rejectUnauthorized: !o.insecure, timeout: o.timeoutMs ?? 30_000 }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`GET ${url} answered ${res.statusCode}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > KV_VALUE_LIMIT) {
          req.destroy(new Error(`GET ${url}: larger than the 25 MiB a KV value may hold`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve({ bytes: Buffer.concat(chunks), contentType: res.headers['content-type'] }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', (e) => reject(new Error(e.message.startsWith('GET ') ? e.message : `GET ${url}: ${e.message}`)));
  });
}
