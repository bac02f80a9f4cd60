/**
 * worker/cache/cacheable.ts, worker/cache/edge-cache.ts (key, conditionals) and the `ks-edge.io/cache` annotations
 * (worker/model/cache-rule.ts): the rules a request and an answer must meet, as pure functions.
 */
import { describe, expect, it } from 'vitest';
import { requestBypass, storable, upstreamRequestBypass } from '../../worker/cache/cacheable';
import { cacheKey, notModified, type CacheRequest } from '../../worker/cache/edge-cache';
import { parsePolicy } from '../../worker/model/annotations';

const h = (o: Record<string, string> = {}) => new Headers(o);
const DAY = 86_400_000;

describe('storable', () => {
  it('keeps only 200, 203, 204, 301, 404 and 410', () => {
    for (const s of [200, 203, 204, 301, 404, 410]) expect(storable(s, h(), 60_000)).toEqual({ ttlSeconds: 60, age: 0 });
    for (const s of [206, 302, 304, 401, 403, 500, 503]) expect(storable(s, h(), 60_000)).toHaveProperty('reason');
  });
  it('never keeps Set-Cookie, private, no-store, no-cache (any form), Pragma: no-cache, Vary: * or other Vary', () => {
    for (const headers of [
      { 'set-cookie': 'a=1' }, { 'cache-control': 'private' }, { 'cache-control': 'public, no-store' },
      { 'cache-control': 'no-cache="set-cookie"' }, { 'cache-control': 'NO-CACHE' }, { pragma: 'no-cache' }, { vary: '*' }, { vary: 'Accept-Encoding, Cookie' },
    ] as Record<string, string>[]) expect(storable(200, h(headers), 60_000), JSON.stringify(headers)).toHaveProperty('reason');
    expect(storable(200, h({ vary: 'Accept-Encoding' }), 60_000)).toHaveProperty('ttlSeconds');
  });
  it('the upstream\'s s-maxage, max-age or Expires wins when shorter, less its Age; never longer than the rule', () => {
    expect(storable(200, h({ 'cache-control': 'max-age=30' }), 60_000)).toEqual({ ttlSeconds: 30, age: 0 });
    expect(storable(200, h({ 'cache-control': 'max-age=30, s-maxage=10' }), 60_000)).toMatchObject({ ttlSeconds: 10 });
    expect(storable(200, h({ 'cache-control': 'max-age=3000' }), 60_000)).toMatchObject({ ttlSeconds: 60 });
    expect(storable(200, h({ 'cache-control': 'max-age=30', age: '20' }), 60_000)).toEqual({ ttlSeconds: 10, age: 20 });
    const date = new Date(Date.UTC(2026, 0, 1));
    expect(storable(200, h({ date: date.toUTCString(), expires: new Date(date.getTime() + 15_000).toUTCString() }), 60_000)).toMatchObject({ ttlSeconds: 15 });
    expect(storable(200, h({ expires: 'not a date' }), 60_000)).toHaveProperty('reason');
    expect(storable(200, h({ 'cache-control': 'max-age=0' }), 60_000)).toHaveProperty('reason');
  });
});

describe('requests', () => {
  it('only GET and HEAD, no upgrades, nothing that forwards the caller\'s credentials', () => {
    expect(requestBypass('GET', h())).toBeUndefined();
    expect(requestBypass('HEAD', h())).toBeUndefined();
    expect(requestBypass('POST', h())).toBe('POST is never cached');
    expect(requestBypass('GET', h({ upgrade: 'websocket' }))).toContain('upgrade');
    expect(upstreamRequestBypass(h({ authorization: 'Bearer x' }))).toContain('Authorization');
    expect(upstreamRequestBypass(h({ 'x-kubesphere-authorization': 'Bearer x' }))).toContain('X-KubeSphere-Authorization');
  });
  it('If-None-Match (weak comparison, *) and If-Modified-Since', () => {
    expect(notModified(h({ 'if-none-match': 'W/"a", "b"' }), h({ etag: '"a"' }))).toBe(true);
    expect(notModified(h({ 'if-none-match': '*' }), h({ etag: '"a"' }))).toBe(true);
    expect(notModified(h({ 'if-none-match': '"c"' }), h({ etag: '"a"', 'last-modified': 'Tue, 01 Dec 2026 00:00:00 GMT' }))).toBe(false);
    expect(notModified(h({ 'if-modified-since': 'Wed, 02 Dec 2026 00:00:00 GMT' }), h({ 'last-modified': 'Tue, 01 Dec 2026 00:00:00 GMT' }))).toBe(true);
    expect(notModified(h({ 'if-modified-since': 'Mon, 30 Nov 2026 00:00:00 GMT' }), h({ 'last-modified': 'Tue, 01 Dec 2026 00:00:00 GMT' }))).toBe(false);
  });
});

describe('the key', () => {
  const base: CacheRequest = {
    rule: { ttlMs: 60_000, key: 'shared', version: 'v1' }, cluster: 'host', kind: 'reverseProxy', name: 'images', method: 'GET',
    clientUrl: new URL('https://edge.example/res/x'), clientHeaders: h(), upstreamUrl: 'http://up/res/x?a=1', upstreamHeaders: h(), rendered: [], user: undefined,
  };
  it('changes with every part that shapes the answer, and no value can pass for another part', () => {
    const k = cacheKey(base);
    for (const change of [
      { cluster: 'm1' }, { kind: 'apiService' as const }, { name: 'other' }, { rule: { ...base.rule, version: 'v2' } }, { user: 'alice' },
      { rendered: ['x-tenant: a'] }, { upstreamUrl: 'http://up/res/x?a=2' }, { clientUrl: new URL('https://other.example/res/x') },
    ]) expect(cacheKey({ ...base, ...change }), JSON.stringify(change)).not.toBe(k);
    expect(cacheKey({ ...base, name: 'a/b', cluster: 'c' })).not.toBe(cacheKey({ ...base, name: 'b', cluster: 'c/a' }));
    expect(new URL(k).pathname.startsWith('/_gateway/cache/v1/')).toBe(true);
  });
});

describe('annotations', () => {
  it('ks-edge.io/cache takes 1s to 7d; cache-key shared or user; a bad value is reported by name', () => {
    expect(parsePolicy({ 'ks-edge.io/cache': '300s' }).policy.cache).toEqual({ ttlMs: 300_000, key: 'shared', version: '' });
    expect(parsePolicy({ 'ks-edge.io/cache': '7d', 'ks-edge.io/cache-key': 'user' }).policy.cache).toMatchObject({ ttlMs: 7 * DAY, key: 'user' });
    for (const bad of ['8d', '0s', '1.5h', 'forever', '']) {
      const r = parsePolicy({ 'ks-edge.io/cache': bad });
      expect(r.problems.join(), bad).toContain('annotation ks-edge.io/cache:');
      expect(r.policy.cache).toBeUndefined();
    }
    expect(parsePolicy({ 'ks-edge.io/cache': '1h', 'ks-edge.io/cache-key': 'ip' }).problems.join()).toContain('expected "shared" or "user"');
    expect(parsePolicy({ 'ks-edge.io/cache-key': 'user' }).warnings.join()).toContain('no effect without ks-edge.io/cache');
  });
});
