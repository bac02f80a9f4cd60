/**
 * Health checks of `ks-edge.io/health-check`, probed by the exporter inside the cluster (the edge cannot reach
 * in-cluster upstreams). An upstream that fails its probe makes its routes answer 503 until it passes again.
 */
import http from 'node:http';
import https from 'node:https';
import { HEALTH_CHECK_ANNOTATION, parseHealthCheck, type HealthCheck } from '../../worker/model/annotations';
import type { Candidate } from './compile';
import { resolveEndpoint, tlsSettings } from './endpoint';
import { decodeOnceOrTwice } from './base64';
import { targetUrl } from './fetch-source';

/** Reasons by `Kind/name`, for routes whose upstream failed its probe. */
export type HealthResults = Map<string, string>;

export interface Probe { candidate: Candidate; check: HealthCheck }

export function probesOf(candidates: Candidate[]): Probe[] {
  const out: Probe[] = [];
  for (const c of candidates) {
    if (c.kind === 'JSBundle' || !c.value) continue;
    const text = c.value.metadata.annotations?.[HEALTH_CHECK_ANNOTATION];
    if (!text) continue;
    try {
      out.push({ candidate: c, check: parseHealthCheck(text) });
    } catch {
      /* reported by compile as a problem of the resource */
    }
  }
  return out;
}

export async function runHealthChecks(candidates: Candidate[], clusterOrigin: string | undefined): Promise<HealthResults> {
  const results: HealthResults = new Map();
  await Promise.all(probesOf(candidates).map(async ({ candidate, check }) => {
    const endpoint = candidate.kind === 'APIService' ? candidate.value!.spec : (candidate.value as { spec: { upstream: Parameters<typeof resolveEndpoint>[0] } }).spec.upstream;
    try {
      const { url, upstream } = resolveEndpoint(endpoint, 'upstream');
      // The path is appended to the upstream's origin, never resolved against it: it cannot name another host.
      const onUpstream = new URL(url.origin + check.path);
      if (onUpstream.origin !== url.origin) throw new Error(`path ${JSON.stringify(check.path)} leaves the upstream`);
      const probeUrl = targetUrl({ url: onUpstream, upstream, clusterOrigin });
      const tls = tlsSettings(endpoint);
      const status = await probe(probeUrl, check.timeoutMs, tls.ca ? decodeOnceOrTwice(tls.ca, 'caBundle') : undefined, tls.insecure);
      if (status >= 400) results.set(`${candidate.kind}/${candidate.name}`, `health check GET ${check.path} answered ${status}`);
    } catch (e) {
      results.set(`${candidate.kind}/${candidate.name}`, `health check GET ${check.path} failed: ${(e as Error).message}`);
    }
  }));
  return results;
}

/** The shortest interval any route asks for: how often `--watch` re-exports to re-probe. */
export function shortestInterval(candidates: Candidate[]): number | undefined {
  const intervals = probesOf(candidates).map((p) => p.check.intervalMs);
  return intervals.length ? Math.min(...intervals) : undefined;
}

function probe(url: URL, timeoutMs: number, ca: Buffer | undefined, insecure: boolean): Promise<number> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(url, { ca, rejectUnauthorized: !insecure, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}
