/**
 * Properties: directive parsing never throws anything but DirectiveError on arbitrary strings, and path handling
 * never hands an upstream a path outside what the matcher claimed (dot segments, %2e%2e, %2F, double slashes).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileDirectives, DirectiveError, parseHeaderOp, parsePathRegexp, parseReplace, parseRewrite } from '../../worker/directives/parse';
import { staysWithin, stripPathPrefix, upstreamView } from '../../worker/directives/path';

const onlyDirectiveErrors = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    if (!(e instanceof DirectiveError)) throw e;
  }
};

const runs = { numRuns: 2000 };

describe('parsing never crashes', () => {
  const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('-*', '+', '-', ' ', '"', '{', '{}', '[', '*', '?', '$1', '\\'));
  const entry = fc.array(text, { maxLength: 4 }).map((xs) => xs.join(' '));
  it('header entries', () => fc.assert(fc.property(entry, (e) => onlyDirectiveErrors(() => parseHeaderOp('headerUp', e))), runs));
  it('rewrite rules', () => fc.assert(fc.property(entry, (e) => onlyDirectiveErrors(() => parseRewrite(e))), runs));
  it('replace rules', () => fc.assert(fc.property(entry, (e) => onlyDirectiveErrors(() => parseReplace(e))), runs));
  it('pathRegexp rules', () => fc.assert(fc.property(entry, (e) => onlyDirectiveErrors(() => parsePathRegexp(e))), runs));
  it('whole directive blocks', () =>
    fc.assert(fc.property(fc.record({ method: fc.option(text, { nil: undefined }), stripPathPrefix: fc.option(text, { nil: undefined }), headerUp: fc.array(entry), rewrite: fc.array(entry) }), (d) =>
      onlyDirectiveErrors(() => compileDirectives(d))), runs));
});

describe('paths stay within what was matched', () => {
  const segment = fc.oneof(
    fc.constantFrom('..', '.', '%2e%2e', '%2E%2e', '.%2e', '%2e', '', 'a', 'admin', '%2F', '..%2F', '%2F..', '..%5C', '%5c..', '\\..', 'x%2fy'),
    fc.stringMatching(/^[a-z0-9._~%-]{0,6}$/),
  );
  const rawPath = fc.array(segment, { maxLength: 8 }).map((segs) => '/' + segs.join('/'));
  const prefix = fc.constantFrom('/proxy/app/', '/proxy/', '/p');

  it('an accepted path, as an upstream resolves it, is still under the prefix', () =>
    fc.assert(fc.property(prefix, rawPath, (p, tail) => {
      // What workerd hands the worker: URL parsing resolves plain and %2e dot segments first.
      const path = new URL(`http://edge${p}${tail}`).pathname;
      if (!path.startsWith(p)) return; // the router would not match this route at all
      if (!staysWithin(path, p)) return; // refused with 400
      const seen = upstreamView(path);
      expect(seen.startsWith(p) || `${seen}/` === p, `${path} → ${seen}`).toBe(true);
    }), runs));

  it('after stripPathPrefix the upstream sees a rooted path, mapping back under the prefix', () =>
    fc.assert(fc.property(prefix, rawPath, (p, tail) => {
      const path = new URL(`http://edge${p}${tail}`).pathname;
      if (!path.startsWith(p) || !staysWithin(path, p)) return;
      const stripped = stripPathPrefix(path, p.replace(/\/$/, ''));
      expect(stripped === '' || stripped.startsWith('/')).toBe(true);
      const back = upstreamView(p.replace(/\/$/, '') + stripped);
      expect(back.startsWith(p) || `${back}/` === p, `${path} → ${stripped}`).toBe(true);
    }), runs));

  it('known escapes are refused', () => {
    for (const path of ['/proxy/app/..%2F..%2Fadmin', '/proxy/app/%2e%2e%2fsecret', '/proxy/app/..%5Cx', '/proxy/app/a%2f..%2f..%2fx']) {
      expect(staysWithin(path, '/proxy/app/'), path).toBe(false);
    }
    for (const path of ['/proxy/app/a%2Fb', '/proxy/app//x', '/proxy/app/a..b', '/proxy/app/%2e%2ex']) {
      expect(staysWithin(path, '/proxy/app/'), path).toBe(true);
    }
  });
});
