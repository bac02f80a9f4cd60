/**
 * The servers `npm run bench` compares, all on 127.0.0.1 in front of one upstream: ks-edge's production bundle
 * and a minimal passthrough worker on plain workerd, nginx and Caddy with the equivalent header and path rules.
 * Each server gets one worker thread (nginx worker_processes 1, Caddy GOMAXPROCS=1; workerd runs one event loop).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { workerdBinary } from '../serve/workerd-config';

export interface Running { name: string; url: string; proc: ChildProcess }

/**
 * CPU placement on this 2-core machine: the server under test on one core, wrk and the upstream on the other,
 * the same for every target, so a heavier server does not slow its own load generator down.
 */
export const SERVER_CPU = '1';
export const LOAD_CPU = '0';
export const pinned = (cpu: string, cmd: string, args: string[]): [string, string[]] => ['taskset', ['-c', cpu, cmd, ...args]];

export async function waitFor(url: string, headers: Record<string, string> = {}, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      const res = await fetch(url, { headers });
      await res.arrayBuffer();
      if (res.status < 500) return;
    } catch { /* not up */ }
    if (Date.now() > until) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const nginxConf = (dir: string, port: number, body: string, upstreamPort?: number) => `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  ${upstreamPort ? `upstream backend { server 127.0.0.1:${upstreamPort}; keepalive 64; }` : ''}
  server {
    listen 127.0.0.1:${port};
    ${body}
  }
}`;

async function startNginx(dir: string, name: string, port: number, body: string, upstreamPort?: number, cpu = SERVER_CPU): Promise<Running> {
  await mkdir(dir, { recursive: true });
  const conf = join(dir, 'nginx.conf');
  await writeFile(conf, nginxConf(resolve(dir), port, body, upstreamPort));
  const proc = spawn(...pinned(cpu, 'nginx', ['-c', resolve(conf), '-p', resolve(dir)]), { stdio: 'ignore' });
  return { name, url: `http://127.0.0.1:${port}`, proc };
}

/** The upstream every target proxies to: nginx answering a small fixed body. */
export function startUpstream(dir: string, port: number): Promise<Running> {
  return startNginx(join(dir, 'upstream'), 'upstream', port, `location / { default_type text/plain; add_header X-Secret s; return 200 'hello from upstream\\n'; }`, undefined, LOAD_CPU);
}

/** nginx with the route's rules: strip /bench, drop Authorization, set X-Ext, add X-Served-By. */
export function startNginxProxy(dir: string, port: number, upstreamPort: number): Promise<Running> {
  return startNginx(join(dir, 'nginx'), 'nginx', port, `
    location /bench/ {
      proxy_pass http://backend/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "";
      proxy_set_header X-Ext bench;
      proxy_set_header X-Forwarded-For $remote_addr;
      add_header X-Served-By edge;
    }`, upstreamPort);
}

export async function startCaddy(dir: string, port: number, upstreamPort: number): Promise<Running> {
  const d = join(dir, 'caddy');
  await mkdir(d, { recursive: true });
  const file = join(d, 'Caddyfile');
  await writeFile(file, `{
  admin off
  auto_https off
}
http://127.0.0.1:${port} {
  handle_path /bench/* {
    reverse_proxy 127.0.0.1:${upstreamPort} {
      header_up -Authorization
      header_up X-Ext bench
      header_down X-Served-By edge
    }
  }
}
`);
  const proc = spawn(...pinned(SERVER_CPU, 'caddy', ['run', '--config', file, '--adapter', 'caddyfile']), {
    stdio: 'ignore', env: { ...process.env, GOMAXPROCS: '1', HOME: d, XDG_DATA_HOME: d, XDG_CONFIG_HOME: d },
  });
  return { name: 'caddy', url: `http://127.0.0.1:${port}`, proc };
}

/**
 * Floors on the same workerd, one process, one socket each: the bare passthrough (the runtime's floor), the same
 * passthrough as a Hono route (Hono's share), and the SPEC's header rules without Hono (the header work's share).
 */
export const FLOORS = [
  { name: 'passthrough worker', file: 'passthrough' },
  { name: 'hono passthrough', file: 'hono-passthrough' },
  { name: 'header rules only', file: 'header-rules' },
] as const;

export async function startFloors(dir: string, ports: number[], upstreamPort: number, compatibilityDate: string): Promise<Running[]> {
  const d = join(dir, 'floors');
  await mkdir(d, { recursive: true });
  for (const f of FLOORS) {
    await build({
      entryPoints: [join('scripts/bench/floors', `${f.file}.ts`)], bundle: true, format: 'esm', platform: 'neutral', minify: true,
      define: { UPSTREAM: JSON.stringify(`http://127.0.0.1:${upstreamPort}`) }, outfile: join(d, `${f.file}.js`), logLevel: 'warning',
    });
  }
  await writeFile(join(d, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [${FLOORS.map((f) => `(name = "${f.file}", worker = (modules = [(name = "w.js", esModule = embed "${f.file}.js")], compatibilityDate = "${compatibilityDate}", globalOutbound = "loopback"))`).join(', ')}, (name = "loopback", network = (allow = ["local"]))],
  sockets = [${FLOORS.map((f, i) => `(name = "${f.file}", address = "127.0.0.1:${ports[i]}", http = (), service = "${f.file}")`).join(', ')}],
);
`);
  const proc = spawn(...pinned(SERVER_CPU, workerdBinary(), ['serve', join(d, 'config.capnp')]), { stdio: 'ignore' });
  return FLOORS.map((f, i) => ({ name: f.name, url: `http://127.0.0.1:${ports[i]}`, proc }));
}
