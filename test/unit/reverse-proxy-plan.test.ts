/** The upstream request of a ReverseProxy, case by case (the properties are in reverse-proxy-plan.property.test.ts). */
import { describe, expect, it } from 'vitest';
import { ANONYMOUS } from '../../worker/auth/identity';
import { compileDirectives } from '../../worker/directives/parse';
import { planReverseProxy } from '../../worker/proxy/reverse-proxy-plan';

const plan = (d: Parameters<typeof compileDirectives>[0], method: string, target: string) =>
  planReverseProxy(compileDirectives(d), 'http://up.test', {
    url: new URL(`http://edge.test${target}`), method, clientHeaders: new Headers(), headers: new Headers(), clientIp: undefined, identity: ANONYMOUS,
  });

describe('an empty path after the directives', () => {
  const d = { method: 'POST', stripPathPrefix: '/proxy/empty' };
  it('redirects a GET or HEAD client to the path with a slash (the client\'s method decides, not the method directive)', () => {
    expect(plan(d, 'GET', '/proxy/empty?q=1')).toEqual({ redirect: '/proxy/empty/?q=1' });
    expect(plan(d, 'HEAD', '/proxy/empty')).toEqual({ redirect: '/proxy/empty/' });
  });
  it('sends "/" for other methods, with the method directive', () => {
    const p = plan({ method: 'GET', stripPathPrefix: '/proxy/empty' }, 'POST', '/proxy/empty');
    expect('send' in p && p.send).toMatchObject({ url: 'http://up.test/', method: 'GET' });
  });
});

describe('a "?" or "#" the directives leave in the path stays in the path', () => {
  it('pathRegexp to "/..?" cannot climb above the upstream\'s path prefix (found by the property test)', () => {
    const p = planReverseProxy(compileDirectives({ pathRegexp: ['^/(.*)$ /..?'] }), 'http://up.test/prefix', {
      url: new URL('http://edge.test/proxy/app/'), method: 'GET', clientHeaders: new Headers(), headers: new Headers(), clientIp: undefined, identity: ANONYMOUS,
    });
    expect('send' in p && p.send.url).toBe('http://up.test/prefix/..%3F');
    expect(new URL((p as { send: { url: string } }).send.url).pathname).toBe('/prefix/..%3F');
  });
});
