/** In-cluster upstreams: the CLUSTER binding, the CLUSTER_ORIGIN template, and the errors that name the setting. */
import { describe, expect, it } from 'vitest';
import type { Upstream } from '../../worker/model/snapshot';
import { resolveOrigin } from '../../worker/proxy/cluster-origin';

const inCluster = (): Upstream => ({
  origin: 'https://api.ns.svc:8443',
  cluster: { scheme: 'https', name: 'api', namespace: 'ns', port: 8443, host: 'api.ns.svc' },
});

describe('resolveOrigin', () => {
  it('leaves public upstreams alone', () => {
    expect(resolveOrigin({ origin: 'https://example.com' }, { CLUSTER_ORIGIN: 'http://x' })).toEqual({ base: 'https://example.com' });
  });

  it('fills every placeholder of the template, keeping a path prefix and dropping a trailing slash', () => {
    expect(resolveOrigin(inCluster(), { CLUSTER_ORIGIN: 'https://{name}-{namespace}.tunnel.example.com/{scheme}/{port}/{host}/' }))
      .toEqual({ base: 'https://api-ns.tunnel.example.com/https/8443/api.ns.svc' });
  });

  it('prefers the CLUSTER service binding', () => {
    const binding = { fetch: () => Promise.resolve(new Response()) } as unknown as Fetcher;
    expect(resolveOrigin(inCluster(), { CLUSTER: binding, CLUSTER_ORIGIN: 'http://x' })).toEqual({ base: 'https://api.ns.svc:8443', binding });
  });

  it('names the missing setting, and a template that gives no URL', () => {
    expect(resolveOrigin(inCluster(), {})).toEqual({ error: expect.stringContaining('set CLUSTER_ORIGIN or bind the CLUSTER service') });
    expect(resolveOrigin(inCluster(), { CLUSTER_ORIGIN: '{name}:{port}' })).toEqual({ error: expect.stringContaining('does not give a URL') });
  });

  it('computes once per upstream, and again when the setting changes', () => {
    const up = inCluster();
    const first = resolveOrigin(up, { CLUSTER_ORIGIN: 'http://127.0.0.1:{port}' });
    expect(resolveOrigin(up, { CLUSTER_ORIGIN: 'http://127.0.0.1:{port}' })).toBe(first);
    expect(resolveOrigin(up, { CLUSTER_ORIGIN: 'http://10.9.9.9:{port}' })).toEqual({ base: 'http://10.9.9.9:8443' });
  });
});
