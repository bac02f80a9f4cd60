/**
 * KubeSphere's Endpoint → where ks-edge sends traffic. `url` wins over `service`; a service becomes
 * `https://{name}.{namespace}.svc:{port}{path}` (always https, port 443 by default).
 */
import type { Endpoint } from '../../worker/model/resources';
import type { Upstream } from '../../worker/model/snapshot';
import { classifyHost, serviceOfHost } from './address';

export interface ResolvedEndpoint {
  /** The full URL, path included (bundle sources use it; routes use only `upstream.origin`). */
  url: URL;
  upstream: Upstream;
  warnings: string[];
}

export function resolveEndpoint(e: Endpoint, field: string): ResolvedEndpoint {
  const warnings: string[] = [];
  let url: URL;
  if (e.url) {
    try {
      url = new URL(e.url);
    } catch {
      throw new Error(`${field}.url ${JSON.stringify(e.url)} is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${field}.url must be http or https, got ${url.protocol}`);
    if (e.service) warnings.push(`${field}: both url and service are set; url wins`);
  } else if (e.service) {
    const s = e.service;
    const path = s.path ? (s.path.startsWith('/') ? s.path : `/${s.path}`) : '';
    url = new URL(`https://${s.name}.${s.namespace}.svc:${s.port ?? 443}${path}`);
  } else {
    throw new Error(`${field} needs a url or a service`);
  }
  const scheme = url.protocol.slice(0, -1);
  const port = url.port ? Number(url.port) : scheme === 'https' ? 443 : 80;
  const host = url.hostname;
  const upstream: Upstream = { origin: url.origin };
  const kind = classifyHost(host);
  if (kind === 'cluster-dns') {
    const { name, namespace } = serviceOfHost(host);
    upstream.cluster = { scheme, name, namespace, port, host };
    if (!e.service && !/\.svc(\.|$)/.test(host)) {
      warnings.push(`${field}: ${host} is an in-cluster name (not a public domain): the worker reaches it as Service ${namespace}/${name} through CLUSTER_ORIGIN or the CLUSTER binding`);
    }
  } else if (kind !== 'public') {
    warnings.push(`${field}: ${host} is a ${kind} address, which the edge cannot reach (use a service and CLUSTER_ORIGIN)`);
  }
  return { url, upstream, warnings };
}

/** Whether TLS settings are present that Workers' fetch cannot honour. */
export function tlsSettings(e: Endpoint): { ca?: string; insecure: boolean } {
  return { ca: e.caBundle ?? e.caBudle, insecure: Boolean(e.insecureSkipVerify ?? e.insecureSkipTLSVerify) };
}

export function edgeTlsWarnings(e: Endpoint, field: string): string[] {
  const out: string[] = [];
  if (e.caBudle !== undefined) out.push(`${field}.caBudle is read as caBundle (legacy spelling)`);
  if (e.insecureSkipTLSVerify !== undefined) out.push(`${field}.insecureSkipTLSVerify is read as insecureSkipVerify (legacy spelling)`);
  const tls = tlsSettings(e);
  if (tls.ca) out.push(`${field}.caBundle is not honoured at the edge: Workers' fetch verifies against public CAs only`);
  if (tls.insecure) out.push(`${field}.insecureSkipVerify is not honoured at the edge: certificates are always verified`);
  return out;
}
