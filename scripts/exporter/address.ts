/**
 * Classifies an upstream host by what the edge can reach. Pure: nothing here resolves or contacts an address.
 * In-cluster DNS names need CLUSTER_ORIGIN; private, loopback and link-local literals are not reachable from
 * Cloudflare's network at all, so the exporter warns about them.
 *
 * In-cluster DNS names are `name`, `name.ns`, `name.ns.svc` and `name.ns.svc.<cluster domain>`: any name whose
 * last label is not a top-level domain of the public DNS (published extensions write `http://shenyu-admin.extension-shenyu:9095`).
 */
import TLDS from 'tlds';

export type AddressClass = 'cluster-dns' | 'loopback' | 'private' | 'link-local' | 'unspecified' | 'public';

const PUBLIC_TLDS = new Set<string>(TLDS as string[]);

export function classifyHost(host: string): AddressClass {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return 'loopback';
  const v4 = ipv4(h);
  if (v4) return classifyV4(v4);
  if (h.includes(':')) return classifyV6(h);
  // A one-label name (`app`, `shop`) is a Service: a bare top-level domain names no host of the public DNS.
  if (!h.includes('.') || h.endsWith('.svc') || h.includes('.svc.')) return 'cluster-dns';
  const last = h.slice(h.lastIndexOf('.') + 1);
  return PUBLIC_TLDS.has(last) ? 'public' : 'cluster-dns';
}

/**
 * The Service a cluster-DNS host names: `name.ns…` → (name, ns); a bare `name` resolves in the namespace of the
 * component that calls it, which for KubeSphere's proxy is ks-apiserver's (kubesphere-system).
 */
export function serviceOfHost(host: string): { name: string; namespace: string } {
  const [name = '', namespace = 'kubesphere-system'] = host.toLowerCase().replace(/\.$/, '').split('.');
  return { name, namespace };
}

function ipv4(h: string): number[] | undefined {
  const parts = h.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.map(Number);
}

function classifyV4([a, b]: number[]): AddressClass {
  if (a === 127) return 'loopback';
  if (a === 0) return 'unspecified';
  if (a === 10 || (a === 172 && b! >= 16 && b! <= 31) || (a === 192 && b === 168) || (a === 100 && b! >= 64 && b! <= 127)) return 'private';
  if (a === 169 && b === 254) return 'link-local';
  return 'public';
}

function classifyV6(h: string): AddressClass {
  if (h === '::1') return 'loopback';
  if (h === '::') return 'unspecified';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (mapped) return classifyHost(mapped[1]!);
  if (/^fe[89ab]/.test(h)) return 'link-local';
  if (/^f[cd]/.test(h)) return 'private';
  return 'public';
}
