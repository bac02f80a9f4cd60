/** SPEC §5: every bundle source resolved by the exporter, served from KV; failing sources keep the last good bytes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsBundle, startGateway, yamlDoc, type Gateway } from '../support/gateway';
import { startUpstream, type Upstream } from '../support/upstream';

let frontend: Upstream;
let gw: Gateway;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const BIG = Buffer.from('console.log("a large extension");\n'.repeat(160_000)); // 5.3 MB

const manifests = (urlPath = '/dist/url-ext/index.js') => [
  yamlDoc({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'ext' }, data: { 'index.js': 'cm-data;' } }),
  yamlDoc({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm-bin', namespace: 'kubesphere-system' }, binaryData: { 'index.js': b64('cm-binary;') } }),
  yamlDoc({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec', namespace: 'ext' }, data: { 'main.js': b64('secret-data;') } }),
  jsBundle('raw-once', { raw: b64('raw-once;') }, { labels: { 'kubesphere.io/extension-ref': 'raw-once' } }),
  jsBundle('raw-twice', { raw: b64(b64('raw-twice;')) }, { labels: { 'kubesphere.io/extension-ref': 'raw-twice' } }),
  jsBundle('cm-ext', { rawFrom: { configMapKeyRef: { name: 'cm', key: 'index.js', namespace: 'ext' } } }),
  jsBundle('cm-bin-ext', { filenameOverride: 'main.js', rawFrom: { configMapKeyRef: { name: 'cm-bin', key: 'index.js' } } }),
  jsBundle('sec-ext', { rawFrom: { secretKeyRef: { name: 'sec', key: 'main.js', namespace: 'ext' } } }, {}, 'Available').replace('"status":{"state":"Available"}', '"status":{"state":"Available","link":"/dist/custom/link.js"}'),
  jsBundle('url-ext', {
    rawFrom: { url: `http://frontend.ext.svc${urlPath}` },
    assets: {
      style: { link: '/dist/url-ext/index.css', service: { namespace: 'ext', name: 'frontend', port: 80, path: '/dist/url-ext/index.css' } },
      files: [{ name: 'logo.svg', mimeType: 'image/svg+xml', url: 'http://frontend.ext.svc/logo.svg' }, { name: 'data.bin', url: 'http://frontend.ext.svc/data.bin' }],
    },
  }, { labels: { 'kubesphere.io/extension-ref': 'url-ext' } }),
  // Over 4 MiB: streamed from KV instead of kept in the isolate's cache.
  jsBundle('big', { raw: BIG.toString('base64') }, { labels: { 'kubesphere.io/extension-ref': 'big' } }),
  // Links KubeSphere does not always allow: never served (bundles are served without authorization).
  jsBundle('outside', { raw: b64('outside;') }).replace('"status":{"state":"Available"}', '"status":{"state":"Available","link":"/distx/secret.js"}'),
  jsBundle('bare-dist', { raw: b64('bare;') }).replace('"status":{"state":"Available"}', '"status":{"state":"Available","link":"/dist"}'),
  jsBundle('missing-cm', { rawFrom: { configMapKeyRef: { name: 'nope', key: 'index.js', namespace: 'ext' } } }),
].join('');

beforeAll(async () => {
  frontend = await startUpstream();
  const serve = (type: string, body: string) => (_q: unknown, res: import('node:http').ServerResponse) => { res.writeHead(200, { 'content-type': type }); res.end(body); };
  frontend.routes.set('/dist/url-ext/index.js', serve('text/javascript', 'from-url;'));
  frontend.routes.set('/dist/url-ext/index.css', serve('text/css', '.a{}'));
  frontend.routes.set('/logo.svg', serve('text/plain', '<svg/>'));
  frontend.routes.set('/data.bin', serve('application/x-custom', 'bin'));
  // CLUSTER_ORIGIN maps every in-cluster service to the frontend server, for the exporter as for the worker.
  gw = await startGateway({ manifests: manifests(), clusterOrigin: frontend.origin });
});
afterAll(async () => {
  await gw?.close();
  await frontend?.close();
});

const get = async (path: string) => {
  const res = await gw.fetch(path);
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
};

describe('links outside /dist/', () => {
  it('are reported by the exporter and never served, under /pstatic either', async () => {
    for (const path of ['/distx/secret.js', '/dist', '/pstatic/distx/secret.js']) {
      const res = await get(path);
      expect(res.status, path).not.toBe(200);
      expect(res.body, path).not.toContain('outside;');
      expect(res.body, path).not.toContain('bare;');
    }
    const report = gw.lastExport.resources.find((r) => r.name === 'outside')!;
    expect(report.warnings.join()).toContain('outside /dist/');
  });
});

describe('bundle sources', () => {
  it('spec.raw, base64 once or twice', async () => {
    expect(await get('/dist/raw-once/index.js')).toMatchObject({ status: 200, body: 'raw-once;' });
    expect(await get('/dist/raw-twice/index.js')).toMatchObject({ status: 200, body: 'raw-twice;' });
  });

  it('ConfigMap data, ConfigMap binaryData (default namespace), filenameOverride and status.link', async () => {
    expect(await get('/dist/cm-ext/index.js')).toMatchObject({ status: 200, body: 'cm-data;' });
    expect(await get('/dist/cm-bin-ext/main.js')).toMatchObject({ status: 200, body: 'cm-binary;' });
    expect(await get('/dist/custom/link.js')).toMatchObject({ status: 200, body: 'secret-data;' });
  });

  it('URL and service sources through CLUSTER_ORIGIN, with style and file types', async () => {
    expect(await get('/dist/url-ext/index.js')).toEqual({ status: 200, type: 'application/javascript; charset=utf-8', body: 'from-url;' });
    expect(await get('/dist/url-ext/index.css')).toEqual({ status: 200, type: 'text/css', body: '.a{}' });
    expect(await get('/dist/url-ext/logo.svg')).toEqual({ status: 200, type: 'image/svg+xml', body: '<svg/>' });
    expect(await get('/dist/url-ext/data.bin')).toEqual({ status: 200, type: 'application/x-custom', body: 'bin' });
  });

  it('a bundle over 4 MiB streams from KV byte for byte (its length is checked on plain workerd, in fidelity)', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await gw.fetch('/dist/big/index.js');
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(BIG)).toBe(true);
    }
  });

  it('a source that fails with no earlier bytes answers 503 with the reason', async () => {
    const res = await gw.fetch('/dist/missing-cm/index.js');
    expect(res.status).toBe(503);
    expect(((await res.json()) as { ErrStatus: { message: string } }).ErrStatus.message).toBe('jsBundle missing-cm: ConfigMap ext/nope not found');
    const report = gw.lastExport.resources.find((r) => r.name === 'missing-cm')!;
    expect(report.problems).toEqual(['/dist/missing-cm/index.js: ConfigMap ext/nope not found']);
  });

  it('a source that fails later keeps serving the last good bytes', async () => {
    frontend.routes.set('/gone.js', (_q, res) => { res.writeHead(404); res.end(); });
    const summary = await gw.publish(manifests('/gone.js'));
    const report = summary.resources.find((r) => r.name === 'url-ext')!;
    expect(report.warnings.join()).toMatch(/answered 404; serving the last good bytes/);
    expect(await get('/dist/url-ext/index.js')).toMatchObject({ status: 200, body: 'from-url;' });
  });
});
