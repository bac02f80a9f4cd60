/** Every rejection reason of the exporter's validation and compile, and the legacy spellings it accepts. */
import { describe, expect, it } from 'vitest';
import { compileSnapshot, type Candidate } from '../../scripts/exporter/compile';
import { kindOf, validate } from '../../scripts/exporter/validate';
import { decodeOnceOrTwice } from '../../scripts/exporter/base64';

const meta = (name: string, extra: Record<string, unknown> = {}) => ({ name, ...extra });
const api = (spec: Record<string, unknown>, m: Record<string, unknown> = {}) => ({ apiVersion: 'extensions.kubesphere.io/v1alpha1', kind: 'APIService', metadata: meta('api', m), spec, status: { state: 'Available' } });
const proxy = (spec: Record<string, unknown>, m: Record<string, unknown> = {}) => ({ apiVersion: 'extensions.kubesphere.io/v1alpha1', kind: 'ReverseProxy', metadata: meta('rp', m), spec, status: { state: 'Available' } });

function compileOne(doc: Record<string, unknown>) {
  const kind = kindOf(doc) as Candidate['kind'];
  const checked = validate(kind, doc);
  const c = (checked.ok
    ? { kind, name: (doc.metadata as { name: string }).name, raw: doc, value: checked.value, problems: [], warnings: checked.warnings }
    : { kind, name: 'x', raw: doc, problems: checked.problems, warnings: [] }) as Candidate;
  const snapshot = compileSnapshot({ cluster: 'c', candidates: [c], assets: new Map() });
  return { snapshot, report: snapshot.resources[0]! };
}

describe('schema problems name the field', () => {
  it.each([
    [api({ version: 'v1', url: 'http://a' }), 'spec.group'],
    [api({ group: 'g', version: 3, url: 'http://a' }), 'spec.version'],
    [api({ group: 'g', version: 'v1', service: { name: 's' } }), 'spec.service.namespace'],
    [api({ group: 'g', version: 'v1', service: { name: 's', namespace: 'n', port: 70000 } }), 'spec.service.port'],
    [proxy({ upstream: { url: 'http://a' } }), 'spec.matcher'],
    [proxy({ matcher: [], upstream: { url: 'http://a' } }), 'spec.matcher'],
    [proxy({ matcher: { path: '/proxy/p' }, upstream: { url: 'http://a' }, directives: { headerUp: 'X a' } }), 'spec.directives.headerUp'],
    [proxy({ matcher: { path: '/proxy/p' }, upstream: { url: 'http://a' }, directives: { authProxy: 'yes' } }), 'spec.directives.authProxy'],
  ])('%#: %s', (doc, field) => {
    const kind = kindOf(doc)!;
    const r = validate(kind, doc);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.join('\n')).toContain(field);
  });

  it('unknown fields are warnings, not used', () => {
    const r = validate('APIService', api({ group: 'g', version: 'v1', url: 'http://a', retries: 3 }));
    expect(r.ok && r.warnings).toEqual(['unknown field spec.retries is ignored']);
  });

  it('objects of other groups are not extension kinds', () => {
    expect(kindOf({ apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService' })).toBeUndefined();
    expect(kindOf({ apiVersion: 'v1', kind: 'ConfigMap' })).toBe('ConfigMap');
  });
});

describe('compile problems', () => {
  const problem = (doc: Record<string, unknown>) => compileOne(doc).report.problems.join('\n');

  it('an endpoint needs a url or a service', () => expect(problem(api({ group: 'g', version: 'v1' }))).toContain('spec needs a url or a service'));
  it('a url must parse', () => expect(problem(api({ group: 'g', version: 'v1', url: 'not a url' }))).toContain('is not a URL'));
  it('a url must be http(s)', () => expect(problem(api({ group: 'g', version: 'v1', url: 'ftp://a' }))).toContain('must be http or https'));
  it('a matcher path must start with /', () => expect(problem(proxy({ matcher: { path: 'p/*' }, upstream: { url: 'http://a' } }))).toContain('must start with "/"'));
  it('"*" only at the end', () => expect(problem(proxy({ matcher: { path: '/proxy/p/*/x' }, upstream: { url: 'http://a' } }))).toContain('"*" may only end a path'));
  it('a method must be a token', () => expect(problem(proxy({ matcher: { path: '/proxy/p', method: 'GE T' }, upstream: { url: 'http://a' } }))).toContain('is not an HTTP method'));
  it('reserved prefixes', () => expect(problem(proxy({ matcher: { path: '/oauth/*' }, upstream: { url: 'http://a' } }))).toContain('claims /oauth/'));
  it('a directive that does not parse quotes the entry', () =>
    expect(problem(proxy({ matcher: { path: '/proxy/p' }, upstream: { url: 'http://a' }, directives: { pathRegexp: ['(unclosed $1'] } }))).toContain('pathRegexp "(unclosed $1"'));
  it('a malformed annotation', () =>
    expect(problem(proxy({ matcher: { path: '/proxy/p' }, upstream: { url: 'http://a' } }, { annotations: { 'ks-edge.io/timeout': 'soon' } }))).toContain('ks-edge.io/timeout'));

  it('an invalid route is unavailable with its reason; a valid one not Available says so', () => {
    const bad = compileOne(proxy({ matcher: { path: '/proxy/p' }, upstream: {} })).snapshot.reverseProxies[0]!;
    expect(bad).toMatchObject({ available: false, unavailable: 'reverseProxy rp is invalid: spec.upstream needs a url or a service' });
    const off = compileOne({ ...proxy({ matcher: { path: '/proxy/p' }, upstream: { url: 'http://a' } }), status: { state: 'Disabled' } }).snapshot.reverseProxies[0]!;
    expect(off).toMatchObject({ available: false, unavailable: 'reverseProxy rp is not available' });
  });

  it('the ks-console label leaves the route to the console', () => {
    const { snapshot, report } = compileOne(proxy({ matcher: { path: '/proxy/p' }, upstream: { url: 'http://a' } }, { labels: { 'kubesphere.io/reverse-proxy-target': 'ks-console' } }));
    expect(snapshot.reverseProxies).toEqual([]);
    expect(report.warnings.join()).toContain('left to the console');
  });

  it('two APIServices for one group/version: the first by name wins', () => {
    const a = api({ group: 'g', version: 'v1', url: 'http://a' });
    const b = { ...api({ group: 'g', version: 'v1', url: 'http://b' }), metadata: meta('zzz') };
    const candidates = [b, a].map((doc) => {
      const r = validate('APIService', doc);
      return { kind: 'APIService', name: doc.metadata.name, raw: doc, value: r.ok ? r.value : undefined, problems: [], warnings: [] } as Candidate;
    });
    const s = compileSnapshot({ cluster: 'c', candidates, assets: new Map() });
    expect(s.apiServices.map((x) => x.name)).toEqual(['api']);
    expect(s.resources.find((r) => r.name === 'zzz')!.problems).toEqual(['g/v1 is already claimed by apiService api']);
  });
});

describe('accepted spellings', () => {
  it('insecureSkipTLSVerify, caBudle and a list matcher', () => {
    const { snapshot, report } = compileOne(proxy({ matcher: [{ path: '/proxy/a/*', method: 'get' }, { path: '/proxy/b' }], upstream: { url: 'https://x.example', caBudle: 'Zm9v', insecureSkipTLSVerify: true } }));
    expect(report.problems).toEqual([]);
    expect(snapshot.reverseProxies[0]!.matchers).toEqual([{ path: '/proxy/a/*', method: 'GET' }, { path: '/proxy/b', method: '*' }]);
    expect(report.warnings.join('\n')).toMatch(/caBudle is read as caBundle[\s\S]*insecureSkipTLSVerify is read as insecureSkipVerify[\s\S]*not honoured at the edge/);
  });

  it('a service becomes https://name.namespace.svc:port, mapped as in-cluster', () => {
    const { snapshot } = compileOne(api({ group: 'g', version: 'v1', service: { namespace: 'ns', name: 'svc' } }));
    expect(snapshot.apiServices[0]!.upstream).toEqual({ origin: 'https://svc.ns.svc', cluster: { scheme: 'https', name: 'svc', namespace: 'ns', port: 443, host: 'svc.ns.svc' } });
  });

  it('base64 once or twice', () => {
    const js = 'console.log(1)';
    const once = Buffer.from(js).toString('base64');
    expect(decodeOnceOrTwice(once, 'raw').toString()).toBe(js);
    expect(decodeOnceOrTwice(Buffer.from(once).toString('base64'), 'raw').toString()).toBe(js);
    expect(() => decodeOnceOrTwice('not base64!', 'spec.raw')).toThrow('spec.raw is not valid base64');
  });
});
