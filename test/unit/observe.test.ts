/** worker/observe/log-policy.ts and worker/observe/trace-context.ts. */
import { describe, expect, it } from 'vitest';
import { logPolicy, logs } from '../../worker/observe/log-policy';
import { givenContext, newContext, propagate } from '../../worker/observe/trace-context';

describe('REQUEST_LOG', () => {
  it('errors by default: ≥ 500, 401/403/429, slow, and a sample', () => {
    const p = logPolicy({ REQUEST_LOG_SAMPLE: '0' });
    expect(p).toEqual({ mode: 'errors', slowMs: 1000, sample: 0 });
    for (const status of [500, 502, 503, 504, 401, 403, 429]) expect(logs(p, status, 1)).toBe(true);
    for (const status of [200, 204, 301, 304, 404]) expect(logs(p, status, 1)).toBe(false);
    expect(logs(p, 200, 1000)).toBe(true);
    expect(logs(logPolicy({ REQUEST_LOG_SAMPLE: '1' }), 200, 1)).toBe(true);
    expect(logPolicy({})).toEqual({ mode: 'errors', slowMs: 1000, sample: 0.01 });
  });
  it('all and off; a bad value names its variable', () => {
    expect(logs(logPolicy({ REQUEST_LOG: 'all' }), 200, 0)).toBe(true);
    expect(logs(logPolicy({ REQUEST_LOG: 'off' }), 500, 0)).toBe(false);
    expect(logPolicy({ REQUEST_LOG: 'verbose' })).toMatchObject({ error: expect.stringContaining('REQUEST_LOG must be') });
    expect(logPolicy({ REQUEST_LOG_SAMPLE: '2' })).toMatchObject({ error: expect.stringContaining('REQUEST_LOG_SAMPLE') });
    expect(logPolicy({ REQUEST_LOG_SLOW_MS: '1s' })).toMatchObject({ error: expect.stringContaining('REQUEST_LOG_SLOW_MS') });
  });
});

describe('trace context', () => {
  it('accepts valid traceparents only', () => {
    expect(givenContext('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'a=b')).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', tracestate: 'a=b' });
    expect(givenContext('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future', null)).toBeDefined();
    for (const bad of ['', 'junk', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01']) {
      expect(givenContext(bad, null), bad).toBeUndefined();
    }
  });
  it('new contexts are valid and distinct; propagation drops a stale tracestate', () => {
    const a = newContext();
    const b = newContext();
    expect(givenContext(a.traceparent, null)?.traceId).toBe(a.traceId);
    expect(a.traceId).not.toBe(b.traceId);
    const h = new Headers({ tracestate: 'stale=1' });
    propagate(h, a);
    expect(h.get('traceparent')).toBe(a.traceparent);
    expect(h.has('tracestate')).toBe(false);
  });
});
