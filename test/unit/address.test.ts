/** Address classification is a pure function: nothing here contacts an address. */
import { describe, expect, it } from 'vitest';
import { classifyHost, serviceOfHost } from '../../scripts/exporter/address';

describe('classifyHost', () => {
  it.each([
    ['api.ns.svc', 'cluster-dns'], ['api.ns.svc.cluster.local', 'cluster-dns'], ['API.NS.SVC.', 'cluster-dns'],
    ['localhost', 'loopback'], ['127.0.0.1', 'loopback'], ['127.9.9.9', 'loopback'], ['[::1]', 'loopback'], ['::ffff:127.0.0.1', 'loopback'],
    ['10.0.0.1', 'private'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'], ['192.168.1.1', 'private'], ['100.64.0.1', 'private'], ['fd00::1', 'private'],
    ['169.254.169.254', 'link-local'], ['fe80::1', 'link-local'], ['0.0.0.0', 'unspecified'], ['::', 'unspecified'],
    ['172.32.0.1', 'public'], ['8.8.8.8', 'public'], ['example.com', 'public'], ['2001:db8::1', 'public'],
    // In-cluster names as published extensions write them: the last label is not a public top-level domain.
    ['shenyu-admin.extension-shenyu', 'cluster-dns'], ['grafana', 'cluster-dns'], ['app', 'cluster-dns'], ['shop', 'cluster-dns'], ['data', 'cluster-dns'], ['api.ns.svc.corp.internal', 'cluster-dns'],
    ['demo.app', 'public'], ['console.example.io', 'public'], ['EXAMPLE.COM.', 'public'],
  ])('%s → %s', (host, cls) => expect(classifyHost(host)).toBe(cls));
});

describe('serviceOfHost', () => {
  it.each([
    ['shenyu-admin.extension-shenyu', { name: 'shenyu-admin', namespace: 'extension-shenyu' }],
    ['api.ns.svc.cluster.local', { name: 'api', namespace: 'ns' }],
    ['grafana', { name: 'grafana', namespace: 'kubesphere-system' }],
  ])('%s', (host, svc) => expect(serviceOfHost(host)).toEqual(svc));
});
