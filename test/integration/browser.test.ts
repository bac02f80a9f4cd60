/**
 * The console's way of loading an extension, in a real browser (Debian's Chromium, driven by playwright-core): a
 * page served through the gateway loads SystemJS and `System.import('/pstatic/dist/<ext>/index.js?resourceVersion=…')`,
 * the bundle runs and changes the page, its style applies, and a second load is answered with 304s. Then the status
 * page: the filter and the route explainer. Screenshots are kept in test/artifacts/.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsBundle, reverseProxy, startGateway, type Gateway } from '../support/gateway';

const require = createRequire(import.meta.url);
const ARTIFACTS = 'test/artifacts';
const BUNDLE = `System.register(["react"], function (_export) {
  var React;
  return {
    setters: [function (m) { React = m.default; }],
    execute: function () {
      var node = document.createElement("div");
      node.id = "ext-node";
      node.textContent = "hello from the extension (react " + React.version + ")";
      document.body.appendChild(node);
      _export("default", { name: "hello" });
    }
  };
});`;
const STYLE = '#ext-node { color: rgb(51, 133, 255); font-weight: 700; }';
const PAGE = `<!doctype html><html><head><title>console</title>
<script type="systemjs-importmap">{ "imports": { "react": "core:react" } }</script>
<script src="/lib/system.min.js"></script>
<link rel="stylesheet" href="/pstatic/dist/hello/index.css?resourceVersion=7">
</head><body><h1>ks-console (test page)</h1>
<script>
  System.set('core:react', { default: { version: 'host' } });
  window.extLoaded = System.import('/pstatic/dist/hello/index.js?resourceVersion=7').then(function (m) { return m.default; });
</script></body></html>`;

let consoleServer: Server;
let gw: Gateway;
let browser: Browser;

beforeAll(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  const systemjs = await readFile(require.resolve('systemjs/dist/system.min.js'));
  consoleServer = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    if (path === '/lib/system.min.js') return void res.writeHead(200, { 'content-type': 'application/javascript' }).end(systemjs);
    if (path === '/styles/hello.css') return void res.writeHead(200, { 'content-type': 'text/css' }).end(STYLE);
    if (path === '/favicon.ico') return void res.writeHead(204).end();
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => consoleServer.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(consoleServer.address() as AddressInfo).port}`;
  gw = await startGateway({
    vars: { CORE_ORIGIN: origin },
    manifests: [
      jsBundle('hello', { raw: Buffer.from(BUNDLE).toString('base64'), assets: { style: { link: '/dist/hello/index.css', url: `${origin}/styles/hello.css` } } }, { labels: { 'kubesphere.io/extension-ref': 'hello' } }),
      reverseProxy('app', { matcher: { path: '/proxy/app/*' }, upstream: { url: origin } }),
      reverseProxy('broken', { matcher: { path: '/proxy/broken/*' }, upstream: { url: origin }, directives: { rewrite: ['a b c'] } }),
    ].join(''),
  });
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await gw?.close();
  consoleServer?.closeAllConnections();
  await new Promise((r) => consoleServer?.close(r));
});

describe('an extension bundle loaded the way ks-console loads it', () => {
  it('runs, changes the page, applies its style, and is revalidated with 304s on the second load', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const statuses = new Map<string, number[]>();
    page.on('response', (r) => {
      const p = new URL(r.url()).pathname;
      if (p.startsWith('/pstatic/dist/')) statuses.set(p, [...(statuses.get(p) ?? []), r.status()]);
    });
    await page.goto(`${gw.url}/`);
    await page.waitForSelector('#ext-node');
    expect(await page.evaluate('window.extLoaded')).toEqual({ name: 'hello' });
    expect(await page.textContent('#ext-node')).toBe('hello from the extension (react host)');
    expect(await page.evaluate('getComputedStyle(document.getElementById("ext-node")).color')).toBe('rgb(51, 133, 255)');
    await page.screenshot({ path: `${ARTIFACTS}/console-with-extension.png` });

    await page.goto(`${gw.url}/`);
    await page.waitForSelector('#ext-node');
    expect(statuses.get('/pstatic/dist/hello/index.js')).toEqual([200, 304]);
    expect(statuses.get('/pstatic/dist/hello/index.css')).toEqual([200, 304]);
    await context.close();
  });
});

describe('the status page', () => {
  it('lists the resources, filters them, and explains a request', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${gw.url}/_gateway/`);
    await page.waitForSelector('#resources tbody tr');
    const visible = () => page.evaluate('[...document.querySelectorAll("#resources tbody tr")].filter((r) => !r.hidden).map((r) => r.children[1].textContent)') as Promise<string[]>;
    expect((await visible()).sort()).toEqual(['app', 'broken', 'hello']);
    expect(await page.textContent('#resources')).toContain('rewrite "a b c"');
    await page.fill('#filter', 'reverseproxy app');
    expect(await visible()).toEqual(['app']);
    await page.fill('#filter', '');

    await page.fill('#explain input[name=path]', '/proxy/app/x?y=1');
    await page.click('#explain button');
    // A locator waits in Playwright's own world: the page's CSP (no eval) would refuse waitForFunction's polling.
    await page.locator('#explain-out', { hasText: 'kind' }).waitFor();
    const out = await page.textContent('#explain-out');
    expect(out).toContain('kind: ReverseProxy');
    expect(out).toContain('name: app');
    expect(out).toContain('answer: proxied');
    await page.screenshot({ path: `${ARTIFACTS}/status-page.png`, fullPage: true });
    await page.close();
  });
});
