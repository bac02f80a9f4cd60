/** Directive parsing and application, table-driven with the cases Caddy's and KubeSphere's documents give. */
import { describe, expect, it } from 'vitest';
import { applyHeaderOps } from '../../worker/directives/headers';
import {
  compileDirectives, DirectiveError, parseHeaderOp, parsePathRegexp, parseReplace, parseRewrite,
} from '../../worker/directives/parse';
import {
  applyPathRegexp, applyReplace, applyRewrite, cleanPath, stripPathPrefix, stripPathSuffix, type PathState,
} from '../../worker/directives/path';
import { parseTemplate, renderTemplate, type TemplateContext } from '../../worker/directives/template';

const ctx = (over: Partial<TemplateContext> = {}): TemplateContext => ({
  host: 'edge.example.com', method: 'GET', path: '/a/b', query: 'x=1', scheme: 'https', remoteHost: '203.0.113.7',
  user: 'alice', headers: new Headers({ 'X-Tenant': 'blue' }), ...over,
});

describe('method', () => {
  it.each([['POST', 'POST'], ['get', 'GET'], ['PROPFIND', 'PROPFIND']])('%s → %s', (input, out) =>
    expect(compileDirectives({ method: input }).method).toBe(out));
  it('rejects a non-token', () => expect(() => compileDirectives({ method: 'GE T' })).toThrow(DirectiveError));
});

describe('stripPathPrefix / stripPathSuffix', () => {
  it.each([
    ['/res/example.kubesphere.io/images/a.png', '/res/example.kubesphere.io', '/images/a.png'], // KubeSphere's example
    ['/path/prefix/x', '/path/prefix', '/x'],
    ['/PATH/Prefix/x', '/path/prefix', '/x'], // case-insensitive, as Caddy
    ['/path%2Fprefix/x', '/path/prefix', '/x'], // escape-aware, as Caddy
    ['/path/prefix', '/path/prefix', ''], // → 301 to add the slash (GET/HEAD)
    ['/path/prefixed', '/path/prefix', '/ed'],
    ['/other/x', '/path/prefix', '/other/x'],
  ])('strip prefix %s - %s = %s', (path, prefix, out) => expect(stripPathPrefix(path, prefix)).toBe(out));
  it.each([
    ['/page.html', '.html', '/page'], ['/page.HTML', '.html', '/page'], ['/page.htm', '.html', '/page.htm'],
  ])('strip suffix %s - %s = %s', (path, suffix, out) => expect(stripPathSuffix(path, suffix)).toBe(out));
});

describe('headerUp / headerDown', () => {
  const run = (entries: string[], start: Record<string, string>, c = ctx()) => {
    const h = new Headers(start);
    applyHeaderOps(h, entries.map((e) => parseHeaderOp('headerUp', e)), c);
    return Object.fromEntries(h);
  };
  it.each<[string, string[], Record<string, string>, Record<string, string>]>([
    ['delete (KubeSphere)', ['-Authorization'], { authorization: 'Bearer x', a: '1' }, { a: '1' }],
    ['set (KubeSphere)', ['Foo bar'], { foo: 'old' }, { foo: 'bar' }],
    ['quoted value (KubeSphere)', ['Content-Type "application/json"'], {}, { 'content-type': 'application/json' }],
    ['value with spaces', ['X-Note a b  c'], {}, { 'x-note': 'a b  c' }],
    ['add keeps the old value', ['+Via edge'], { via: '1.1 a' }, { via: '1.1 a, edge' }],
    ['prefix wildcard', ['-X-Debug-*'], { 'x-debug-a': '1', 'x-debug-b': '2', 'x-keep': '3' }, { 'x-keep': '3' }],
    ['suffix wildcard', ['-*-Secret'], { 'a-secret': '1', 'b-SECRET': '2', 'secret-c': '3' }, { 'secret-c': '3' }],
    ['contains wildcard', ['-*internal*'], { 'x-internal-id': '1', 'internal': '2', 'x-keep': '3' }, { 'x-keep': '3' }],
    ['delete all', ['-*'], { a: '1', b: '2' }, {}],
    ['placeholders', ['X-Who {user}@{remote_host}', 'X-Req "{method} {scheme}://{host}{uri}"', 'X-Tenant-Copy {header.X-Tenant}'], {}, {
      'x-who': 'alice@203.0.113.7', 'x-req': 'GET https://edge.example.com/a/b?x=1', 'x-tenant-copy': 'blue',
    }],
    ['Caddy long placeholders', ['X-Path {http.request.uri.path}', 'X-Q {http.request.uri.query}'], {}, { 'x-path': '/a/b', 'x-q': 'x=1' }],
    ['missing header placeholder is empty', ['X-Missing "[{header.nope}]"'], {}, { 'x-missing': '[]' }],
    ['order matters: set then delete', ['X-A 1', '-X-A'], {}, {}],
    ['order matters: delete then set', ['-X-A', 'X-A 2'], { 'x-a': '1' }, { 'x-a': '2' }],
  ])('%s', (_name, entries, start, out) => expect(run(entries, start)).toEqual(out));

  it.each([
    ['', 'empty entry'], ['NoValue', 'needs a value'], ['Bad:Name v', 'not a valid header name'], ['-Two Words', 'header name only'],
    ['-X*Y', 'not a header name or wildcard'], ['-**', 'not a header name or wildcard'], ['X-A {nope}', 'unknown placeholder {nope}'],
    ['X-A a\r\nInjected: 1', 'line break'],
  ])('rejects %j (%s), quoting the entry', (entry, why) => {
    expect(() => parseHeaderOp('headerUp', entry)).toThrow(DirectiveError);
    expect(() => parseHeaderOp('headerUp', entry)).toThrow(why);
    expect(() => parseHeaderOp('headerUp', entry)).toThrow(`headerUp ${JSON.stringify(entry)}`);
  });
});

describe('rewrite', () => {
  const rewrite = (rules: string[], path: string, query = '') => {
    const state: PathState = { path, query };
    applyRewrite(state, rules.map(parseRewrite), ctx({ path, query }));
    return state.query ? `${state.path}?${state.query}` : state.path;
  };
  it.each<[string, string[], string, string, string]>([
    ['* matches everything (Caddy: rewrite * /foo.html)', ['* /foo.html'], '/anything', '', '/foo.html'],
    ['prefix', ['/api/* /v2/api'], '/api/x', '', '/v2/api'],
    ['prefix is case-insensitive', ['/api/* /v2'], '/API/x', '', '/v2'],
    ['suffix (Caddy: *.php)', ['*.php /index.php'], '/a/b.php', '', '/index.php'],
    ['contains', ['*/admin/* /denied'], '/x/admin/y', '', '/denied'],
    ['glob: * does not cross /', ['/user/*/profile /profile'], '/user/bob/profile', '', '/profile'],
    ['glob miss', ['/user/*/profile /profile'], '/user/bob/x/profile', '', '/user/bob/x/profile'],
    ['exact', ['/old /new'], '/old', '', '/new'],
    ['compared with the cleaned path', ['/a/b /hit'], '/a//x/../b', '', '/hit'],
    ['query only: path kept (Caddy: rewrite /api/* ?a=b)', ['/api/* ?a=b'], '/api/x', 'c=d', '/api/x?a=b'],
    // Caddy's buildQueryString: values are query-escaped, so a placeholder can never add a parameter.
    ['path and query with placeholders', ['/search* /find?q={query}&from={path}'], '/search', 'term=1', '/find?q=term%3D1&from=%2Fsearch'],
    ['{query} as a key is the query as sent; empty parts leave no stray &', ['* /index.php?{query}&p={path}'], '/foo/bar', '', '/index.php?p=%2Ffoo%2Fbar'],
    ['{query} as a key, with a query', ['* /index.php?{query}&p={path}'], '/foo/bar', 'a=1', '/index.php?a=1&p=%2Ffoo%2Fbar'],
    ['an empty {query} before a literal pair', ['/api_v2/* ?{query}&a=b'], '/api_v2/x', '', '/api_v2/x?a=b'],
    ['a path placeholder cannot inject a parameter', ['* /index.php?p={path}'], '/a&admin=true', '', '/index.php?p=%2Fa%26admin%3Dtrue'],
    ['path placeholder keeps the path', ['/v1/* /v2{path}'], '/v1/x', 'k=v', '/v2/v1/x?k=v'],
    ['"?" alone clears the query', ['* ?'], '/x', 'a=1', '/x'],
    ['first match wins', ['/a* /first', '/a/b /second'], '/a/b', '', '/first'],
    ['no match: unchanged', ['/z* /zz'], '/a', 'q=1', '/a?q=1'],
  ])('%s', (_n, rules, path, query, out) => expect(rewrite(rules, path, query)).toBe(out));

  it.each([
    ['/a', 'expected'], ['/a b c', 'got 3 field(s)'], ['/a  /b', 'got 3 field(s)'], [' /a', 'first field is empty'],
    ['/a ', 'second field is empty'], ['/a[b /c', 'unterminated ['], ['/a relative', 'must start with "/"'], ['/a /{bad}', 'unknown placeholder'],
  ])('rejects %j (%s)', (entry, why) => expect(() => parseRewrite(entry)).toThrow(why));
});

describe('replace and pathRegexp', () => {
  const apply = (replace: string[], regexp: string[], path: string) => {
    const state: PathState = { path, query: '' };
    applyReplace(state, replace.map(parseReplace), ctx({ path }));
    applyPathRegexp(state, regexp.map(parsePathRegexp), ctx({ path }));
    return state.path;
  };
  it.each<[string, string[], string[], string, string]>([
    ['replace every occurrence', ['/docs/ /v1/docs/'], [], '/docs/a/docs/b', '/v1/docs/a/v1/docs/b'],
    ['replace with nothing', ['.html '], [], '/a.html', '/a'],
    ['replace with a placeholder', ['/me/ /{user}/'], [], '/me/x', '/alice/x'],
    ['regexp with $1', [], ['^/api/(.*)$ /v2/$1'], '/api/users', '/v2/users'],
    ['regexp with Go ${1}', [], ['^/(\\w+)/(\\w+)$ /${2}/${1}'], '/a/b', '/b/a'],
    ['regexp replaces all matches', [], ['/+ /'], '//a///b', '/a/b'],
    ['replace runs before pathRegexp', ['/old/ /new/'], ['^/new/(.*) /final/$1'], '/old/x', '/final/x'],
  ])('%s', (_n, rep, re, path, out) => expect(apply(rep, re, path)).toBe(out));

  it('rejects a regexp that does not compile', () => expect(() => parsePathRegexp('(a $1')).toThrow(/pathRegexp "\(a \$1": invalid regular expression/));
  it('rejects an empty find', () => expect(() => parseReplace(' /x')).toThrow('first field is empty'));
});

describe('templates and cleaning', () => {
  it('splits text and placeholders once', () => {
    expect(parseTemplate('a{host}b{header.X-Y}')).toEqual(['a', { placeholder: 'host' }, 'b', { placeholder: 'header', arg: 'x-y' }]);
    expect(renderTemplate(parseTemplate('{"json": 1}'), ctx())).toBe('{"json": 1}'); // not a placeholder shape
  });
  it.each([['/a/./b/../c', '/a/c'], ['//a//b/', '/a/b/'], ['/../..', '/'], ['', '/']])('cleanPath(%j) = %j', (p, out) => expect(cleanPath(p)).toBe(out));
});

describe('placeholders are escaped for where they land', () => {
  it('{uri} has no trailing "?" without a query, and {http.request.uri} keeps the query', () => {
    expect(renderTemplate(parseTemplate('{uri}'), ctx({ path: '/a', query: '' }))).toBe('/a');
    expect(renderTemplate(parseTemplate('{uri}'), ctx({ path: '/a', query: 'x=1' }))).toBe('/a?x=1');
    expect(renderTemplate(parseTemplate('{http.request.uri}'), ctx({ path: '/a', query: 'x=1' }))).toBe('/a?x=1');
  });
  it('a header value in a path is one segment: it cannot add "/", "?", "#" or dot segments', () => {
    const c = ctx({ headers: new Headers({ 'X-Version': '../../private?x#y' }) });
    expect(renderTemplate(parseTemplate('/v2/{header.X-Version}'), c, 'path')).toBe('/v2/..%2F..%2Fprivate%3Fx%23y');
    expect(renderTemplate(parseTemplate('/v2{path}'), ctx({ path: '/a%20b/c' }), 'path')).toBe('/v2/a%20b/c');
  });
  it('a header value in a header cannot break the header', () => {
    const c = ctx({ headers: new Headers({ 'X-In': 'a' }) });
    c.headers = { get: () => 'evil\r\nX-Injected: 1' } as unknown as Headers;
    expect(renderTemplate(parseTemplate('v={header.X-In}'), c, 'header')).toBe('v=evilX-Injected: 1');
  });
});

describe('pathRegexp is RE2 with Go\'s expansion', () => {
  const re = (rule: string, path: string) => {
    const state: PathState = { path, query: '' };
    applyPathRegexp(state, [parsePathRegexp(rule)], ctx());
    return state.path;
  };
  it.each([
    ['^/api/(?P<ver>v\\d+)/(.*)$ /$ver/$2', '/api/v1/foo', '/v1/foo'],
    ['^/api/(?P<ver>v\\d+)/(.*)$ /${ver}_x/$2', '/api/v1/foo', '/v1_x/foo'],
    ['^/api/(v\\d+)/(.*)$ /$1x', '/api/v1/foo', '/'], // $1x is ${1x}, an unknown group
    ['^/(a)$ /$$1', '/a', '/$1'],
    ['a* X', '/baaac', 'X/XbXcX'],
  ])('%s on %s', (rule, path, out) => expect(re(rule, path)).toBe(out));
  it('refuses what RE2 refuses (backreferences, lookahead) at export', () => {
    expect(() => parsePathRegexp('^/(a)\\1$ /x')).toThrow(/RE2 syntax/);
    expect(() => parsePathRegexp('^/(?=a) /x')).toThrow(/RE2 syntax/);
  });
  it('matches in linear time: a catastrophic pattern for a backtracking engine takes milliseconds', () => {
    const started = performance.now();
    expect(re('^/redos/(a+)+$ /x', `/redos/${'a'.repeat(5000)}!`)).toBe(`/redos/${'a'.repeat(5000)}!`);
    expect(performance.now() - started).toBeLessThan(500);
  });
});
