/**
 * Classifies an upstream host by what the edge can reach. Pure: nothing here resolves or contacts an address.
 * In-cluster DNS names need CLUSTER_ORIGIN; private, loopback and link-local literals are not reachable from
 * Cloudflare's network at all, so the exporter warns about them.
 */
export type AddressClass = 'cluster-dns' | 'loopback' | 'private' | 'link-local' | 'unspecified' | 'public';

export function classifyHost(host: string): AddressClass {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (h.endsWith('.svc') || h.endsWith('.svc.cluster.local')) return 'cluster-dns';
  if (h === 'localhost' || h.endsWith('.localhost')) return 'loopback';
  const v4 = ipv4(h);
  if (v4) return classifyV4(v4);
  if (h.includes(':')) return classifyV6(h);
  return 'public';
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
