/** SPEC §9 annotations: what each accepts, and an invalid one makes the resource invalid quoting it. */
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../worker/model/annotations';
import { parseCircuitBreaker, parseRateLimit, parseRedirect, parseRetries } from '../../worker/model/resilience';

describe('rate-limit', () => {
  it.each([
    ['100/60s', { limit: 100, periodMs: 60_000, burst: 100, key: 'ip' }],
    ['5/s;key=user', { limit: 5, periodMs: 1000, burst: 5, key: 'user' }],
    ['1000/1h; key=route; burst=50', { limit: 1000, periodMs: 3_600_000, burst: 50, key: 'route' }],
  ])('%s', (text, rule) => expect(parseRateLimit(text)).toEqual(rule));
  it.each(['100', '0/60s', '100/soon', '100/60s;key=cookie', '100/60s;burst=0', '100/60s;every=1', '100/60s;key=ip;key=user'])('refuses %s', (t) => {
    expect(() => parseRateLimit(t)).toThrow();
  });
});

describe('circuit-breaker', () => {
  it('defaults and values', () => {
    expect(parseCircuitBreaker('')).toEqual({ failures: 5, windowMs: 30_000, cooldownMs: 30_000 });
    expect(parseCircuitBreaker('failures=3;window=10s;cooldown=1m')).toEqual({ failures: 3, windowMs: 10_000, cooldownMs: 60_000 });
  });
  it.each(['failures=0', 'window=forever', 'cooldown=-1s', 'tries=3'])('refuses %s', (t) => expect(() => parseCircuitBreaker(t)).toThrow());
});

describe('retries and redirect', () => {
  it('retries are 0 to 5', () => {
    expect(parseRetries('2')).toBe(2);
    expect(() => parseRetries('6')).toThrow();
    expect(() => parseRetries('two')).toThrow();
  });
  it('a redirect keeps a literal scheme and host; placeholders come after', () => {
    expect(parseRedirect('301 https://new.example.com{uri}')).toMatchObject({ status: 301, origin: 'https://new.example.com', path: [{ placeholder: 'uri' }] });
    expect(parseRedirect('308 https://a.example/x?from={path}')).toMatchObject({ status: 308, path: ['/x'], query: ['from=', { placeholder: 'path' }] });
  });
  it.each(['301 https://{header.Host}/x', '200 https://a.example/', '301 ftp://a.example/', '301 https://user:pw@a.example/', '301 https://a.example:99999/x', 'https://a.example'])('refuses %s', (t) => {
    expect(() => parseRedirect(t)).toThrow();
  });
});

describe('an invalid annotation makes the resource invalid, quoting it; none is silently ignored', () => {
  it.each([
    ['ks-edge.io/rate-limit', 'lots'], ['ks-edge.io/circuit-breaker', 'failures=many'], ['ks-edge.io/retries', '-1'], ['ks-edge.io/redirect', '301 /relative'],
  ])('%s: %s', (key, value) => {
    const r = parsePolicy({ [key]: value });
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toContain(`annotation ${key}: ${JSON.stringify(value)}`);
  });
  it('every §9 annotation is implemented: none is only warned about', () => {
    const r = parsePolicy({ 'ks-edge.io/rate-limit': '1/s', 'ks-edge.io/circuit-breaker': 'failures=2', 'ks-edge.io/retries': '1', 'ks-edge.io/redirect': '302 https://x.example{uri}' });
    expect(r.problems).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.policy).toMatchObject({ retries: 1, rateLimit: { limit: 1 }, circuitBreaker: { failures: 2 }, redirect: { status: 302 } });
  });
});
