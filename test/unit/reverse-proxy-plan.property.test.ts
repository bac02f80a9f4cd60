/**
 * Properties of what a ReverseProxy request becomes upstream (issue "Hardening"), over random directive sets,
 * request paths, placeholders and header values: the upstream URL always has exactly the route's scheme, host and
 * port, and its path never climbs out (no `..` in any decoded reading) of what the directives built; a route whose
 * directives do not rewrite the path keeps the request under the prefix the route matched.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { authenticated } from '../../worker/auth/identity';
import { compileDirectives, DirectiveError } from '../../worker/directives/parse';
import { upstreamView } from '../../worker/directives/path';
import { planReverseProxy } from '../../worker/proxy/reverse-proxy-plan';

const runs = { numRuns: 5000 };
const BASES = ['http://up.test:8080', 'https://up.test', 'http://127.0.0.1:9095/prefix'];

const nasty = fc.constantFrom(
  '..', '.', '%2e%2e', '%2E.', '%252e%252e', '..;', ';x', '%2F', '%2f..', '..%2F', '\\', '%5C', '@', '@127.0.0.1:1', ':99', '//evil.test',
  '?', '#', '&', '=', '%', '%00', ' ', 'ä', 'a', 'graf', 'x', '', '{', '}',
);
const segment = fc.oneof(nasty, fc.stringMatching(/^[a-zA-Z0-9._~%@:;-]{0,8}$/));
const rawPath = fc.array(segment, { maxLength: 6 }).map((s) => `/proxy/app/${s.join('/')}`);
const headerValue = fc.oneof(nasty, fc.array(nasty, { maxLength: 4 }).map((x) => x.join('/')), fc.string({ maxLength: 12 }));
const placeholder = fc.constantFrom('{path}', '{query}', '{uri}', '{host}', '{header.X-V}', '{user}', '{method}', '');
const literal = fc.constantFrom('/v2', '/a', '', '/', '@evil.test', '//evil.test', ':1', '/..', '?', '&a=b', 'x');
const tpl = fc.array(fc.oneof(placeholder, literal), { minLength: 1, maxLength: 4 }).map((xs) => xs.join(''));

const directives = fc.record({
  stripPathPrefix: fc.option(fc.constantFrom('/proxy/app', '/proxy', '/proxy/app/'), { nil: undefined }),
  rewrite: fc.array(fc.tuple(fc.constantFrom('*', '/a*', '*b', '/x/*/y'), tpl, fc.option(tpl, { nil: undefined }))
    .map(([m, p, q]) => `${m} ${p.startsWith('/') || p.startsWith('{') ? p : `/${p}`}${q === undefined ? '' : `?${q}`}`), { maxLength: 2 }),
  replace: fc.array(fc.tuple(fc.constantFrom('/proxy/app', 'graf', '/a', '..'), fc.oneof(tpl, fc.constant(''))).map(([f, r]) => `${f} ${r}`), { maxLength: 2 }),
  pathRegexp: fc.array(fc.tuple(fc.constantFrom('^/(.*)$', '/+', '(a+)+$', '^/proxy/app(.*)'), fc.oneof(tpl, fc.constant('/$1'))).map(([r, t]) => `${r} ${t}`), { maxLength: 2 }),
});

function plan(d: Record<string, unknown>, base: string, path: string, query: string, header: string) {
  let compiled;
  try {
    compiled = compileDirectives(d);
  } catch (e) {
    if (e instanceof DirectiveError) return undefined;
    throw e;
  }
  let url: URL;
  try {
    url = new URL(`http://edge.test${path}${query ? `?${query}` : ''}`);
  } catch {
    return undefined;
  }
  const clientHeaders = new Headers();
  try {
    clientHeaders.set('x-v', header);
  } catch { /* a value no client could send */ }
  return { compiled, url, result: planReverseProxy(compiled, base, { url, method: 'GET', clientHeaders, headers: new Headers(), clientIp: '203.0.113.9', identity: authenticated('al/../ice') }) };
}

describe('the upstream request', () => {
  it('keeps the route\'s scheme, host and port, and never climbs out of the path the directives built', () => fc.assert(fc.property(
    directives, fc.constantFrom(...BASES), rawPath, fc.constantFrom('', 'a=1', 'x=%2F..', 'q=@evil'), headerValue,
    (d, base, path, query, header) => {
      const p = plan(d, base, path, query, header);
      if (!p) return;
      // The last-resort origin check never has to act: the path is always composed under the origin.
      expect('refuse' in p.result && p.result.refuse).not.toBe('origin-changed');
      if (!('send' in p.result)) return;
      const sent = new URL(p.result.send.url);
      const route = new URL(base);
      expect(sent.protocol).toBe(route.protocol);
      expect(sent.host).toBe(route.host);
      expect(sent.port).toBe(route.port);
      expect(sent.username + sent.password).toBe('');
      const pathPart = p.result.send.url.slice(route.origin.length).split('?')[0]!;
      expect(upstreamView(pathPart).split('/')).not.toContain('..');
      expect(upstreamView(pathPart).startsWith(upstreamView(route.pathname === '/' ? '/' : route.pathname))).toBe(true);
    }), runs));

  it('without path-rewriting directives, the decoded path stays under the prefix the route matched', () => fc.assert(fc.property(
    fc.constantFrom('/proxy/app', undefined), fc.constantFrom(...BASES), rawPath, headerValue,
    (strip, base, path, header) => {
      const p = plan({ stripPathPrefix: strip }, base, path, '', header);
      if (!p) return;
      const matched = '/proxy/app/';
      if (!upstreamView(p.url.pathname).startsWith(matched)) return; // the handler refuses these with 400 first
      if (!('send' in p.result)) return;
      const route = new URL(base);
      const sent = p.result.send.url.slice(route.origin.length + (route.pathname === '/' ? 0 : route.pathname.length)).split('?')[0]!;
      const expectedUnder = strip ? '/' : matched;
      expect(upstreamView(sent).startsWith(expectedUnder)).toBe(true);
    }), runs));
});

/** The bytes an escaped path decodes to, read as UTF-8 as a query parser reads them back. */
const decodedPath = (p: string) => {
  const bytes: number[] = [];
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '%' && /^[0-9a-fA-F]{2}$/.test(p.slice(i + 1, i + 3))) {
      bytes.push(parseInt(p.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...new TextEncoder().encode(p[i]!));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
};

describe('{path} in a query', () => {
  it('is the decoded path, one parameter, never a fragment or another parameter (as Caddy builds it)', () => fc.assert(fc.property(
    fc.constantFrom(...BASES), rawPath, (base, path) => {
      const p = plan({ stripPathPrefix: '/proxy/app', rewrite: ['* /search?q={path}&x=1'] }, base, path, 'a=1', '');
      if (!p || !('send' in p.result)) return;
      const sent = p.result.send.url;
      expect(sent).not.toContain('#');
      const params = new URLSearchParams(sent.slice(sent.indexOf('?') + 1));
      expect([...params.keys()]).toEqual(['q', 'x']);
      const { pathname } = p.url;
      const stripped = pathname.startsWith('/proxy/app') ? pathname.slice('/proxy/app'.length) : pathname;
      expect(params.get('q')).toBe(decodedPath(stripped));
      expect(params.get('x')).toBe('1');
      expect(new URL(sent).origin).toBe(new URL(base).origin);
    }), runs));

  it('decodes %23, %20, %2F and UTF-8 once', () => {
    for (const [path, q] of [['/proxy/app/a%23frag', '/a#frag'], ['/proxy/app/a%20b', '/a b'], ['/proxy/app/a%2Fb', '/a/b'], ['/proxy/app/%C3%A4', '/ä'], ['/proxy/app/a%25', '/a%']]) {
      const p = plan({ stripPathPrefix: '/proxy/app', rewrite: ['* /search?q={path}&x=1'] }, BASES[0]!, path!, '', '');
      if (!p || !('send' in p.result)) throw new Error(`no plan for ${path}`);
      expect(new URL(p.result.send.url).searchParams.get('q')).toBe(q);
    }
  });
});
