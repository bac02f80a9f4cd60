/** Address classification is a pure function: nothing here contacts an address. */
import { describe, expect, it } from 'vitest';
import { classifyHost } from '../../scripts/exporter/address';

describe('classifyHost', () => {
  it.each([
    ['api.ns.svc', 'cluster-dns'], ['api.ns.svc.cluster.local', 'cluster-dns'], ['API.NS.SVC.', 'cluster-dns'],
    ['localhost', 'loopback'], ['127.0.0.1', 'loopback'], ['127.9.9.9', 'loopback'], ['[::1]', 'loopback'], ['::ffff:127.0.0.1', 'loopback'],
    ['10.0.0.1', 'private'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'], ['192.168.1.1', 'private'], ['100.64.0.1', 'private'], ['fd00::1', 'private'],
    ['169.254.169.254', 'link-local'], ['fe80::1', 'link-local'], ['0.0.0.0', 'unspecified'], ['::', 'unspecified'],
    ['172.32.0.1', 'public'], ['8.8.8.8', 'public'], ['example.com', 'public'], ['2001:db8::1', 'public'], ['256.1.1.1', 'public'],
  ])('%s → %s', (host, cls) => expect(classifyHost(host)).toBe(cls));
});
