/**
 * The demo upstream `npm start` runs beside the example extensions: it serves the frontend files the URL-sourced
 * JSBundle names and echoes every other request as JSON, so each example route answers something real.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const FILES: Record<string, { type: string; body: string }> = {
  '/dist/demo-frontend/index.js': { type: 'application/javascript', body: 'console.log("demo-frontend extension loaded from its Service");\n' },
  '/dist/demo-frontend/index.css': { type: 'text/css', body: '.demo-frontend { color: #3385ff; }\n' },
  '/dist/demo-frontend/logo.svg': {
    type: 'image/svg+xml',
    body: '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><circle cx="8" cy="8" r="7" fill="#3385ff"/></svg>\n',
  },
};

export interface Echo {
  method: string;
  path: string;
  query: string;
  host: string;
  headers: IncomingMessage['headers'];
  bodyBytes: number;
}

export async function startDemoUpstream(port = 0, host = '127.0.0.1'): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://demo');
    const file = FILES[url.pathname];
    if (file && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'content-type': file.type });
      res.end(req.method === 'HEAD' ? undefined : file.body);
      return;
    }
    let bodyBytes = 0;
    req.on('data', (c: Buffer) => (bodyBytes += c.length));
    req.on('end', () => {
      const echo: Echo = { method: req.method ?? '', path: url.pathname, query: url.search.slice(1), host: req.headers.host ?? '', headers: req.headers, bodyBytes };
      res.writeHead(200, { 'content-type': 'application/json', 'x-demo-upstream': 'echo' });
      res.end(JSON.stringify(echo));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.env.PORT ?? 18080);
  startDemoUpstream(port).then((d) => console.log(`demo upstream on http://127.0.0.1:${d.port}`));
}
