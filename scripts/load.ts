/**
 * `npm run load`: drives every resilience mechanism through `npm run serve` (three isolates sharing the Durable
 * Objects) with a bounded load — a fixed number of requests, loopback only — and prints what got through, what
 * was refused, and whether anything was lost or duplicated (every request carries an id the upstream records).
 * Exits 1 when an invariant does not hold.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ISOLATES = 3;
const RATE = { limit: 50, requests: 1000, concurrency: 20 };

const isFree = (port: number) => new Promise<boolean>((resolve) => {
  const s = netServer().once('error', () => resolve(false)).listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
});

/** `n` consecutive free loopback ports (serve puts its isolates on PORT, PORT+1, …). */
async function freeRun(n: number): Promise<number> {
  for (;;) {
    const base = 20000 + Math.floor(Math.random() * 20000);
    const ok = await Promise.all(Array.from({ length: n }, (_, i) => isFree(base + i)));
    if (ok.every(Boolean)) return base;
  }
}

/** The upstream: records each request id it sees; fails on command; the retry upstream drops every other connection. */
function upstreams() {
  const ids = new Map<string, number>();
  let failing = false;
  const record = (req: IncomingMessage) => {
    const id = String(req.headers['x-load-id'] ?? '');
    ids.set(id, (ids.get(id) ?? 0) + 1);
  };
  const main = createServer((req, res) => {
    record(req);
    res.writeHead(failing && req.url!.startsWith('/proxy/breaker') ? 500 : 200).end('ok');
  });
  let connections = 0;
  const flaky = createServer((req, res) => {
    record(req);
    res.writeHead(200, { connection: 'close' }).end('ok');
  });
  flaky.on('connection', (s: Socket) => {
    if (connections++ % 2 === 0) s.destroy();
  });
  return { main, flaky, ids, setFailing: (f: boolean) => (failing = f) };
}

const doc = (name: string, path: string, origin: string, annotations: Record<string, string>) => JSON.stringify({
  apiVersion: 'extensions.kubesphere.io/v1alpha1', kind: 'ReverseProxy', status: { state: 'Available' },
  metadata: { name, annotations: { 'ks-edge.io/allow-anonymous': 'true', ...annotations } },
  spec: { matcher: { path }, upstream: { url: origin } },
});

interface Phase { name: string; sent: number; statuses: Map<number, number>; ids: string[]; errors: number; retried: number }

async function drive(name: string, urls: string[], path: string, count: number, concurrency: number): Promise<Phase> {
  const phase: Phase = { name, sent: 0, statuses: new Map(), ids: [], errors: 0, retried: 0 };
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const i = next++;
      const id = `${name}-${i}`;
      phase.ids.push(id);
      phase.sent++;
      try {
        const res = await fetch(`${urls[i % urls.length]}${path}`, { headers: { 'x-load-id': id }, redirect: 'manual' });
        await res.arrayBuffer();
        phase.statuses.set(res.status, (phase.statuses.get(res.status) ?? 0) + 1);
        phase.retried += Number(res.headers.get('x-ks-edge-retries') ?? 0);
      } catch {
        phase.errors++;
      }
    }
  }));
  return phase;
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'ks-edge-load-'));
  const up = upstreams();
  await new Promise<void>((r) => up.main.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => up.flaky.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(up.main.address() as AddressInfo).port}`;
  const flakyOrigin = `http://127.0.0.1:${(up.flaky.address() as AddressInfo).port}`;
  await writeFile(join(dir, 'routes.yaml'), [
    doc('limited', '/proxy/limited/*', origin, { 'ks-edge.io/rate-limit': `${RATE.limit}/60s;key=route` }),
    doc('breaker', '/proxy/breaker/*', origin, { 'ks-edge.io/circuit-breaker': 'failures=5;window=30s;cooldown=2s' }),
    doc('retrying', '/proxy/retry/*', flakyOrigin, { 'ks-edge.io/retries': '2' }),
    doc('moved', '/proxy/moved/*', origin, { 'ks-edge.io/redirect': '302 https://elsewhere.example{uri}' }),
  ].map((d) => `---\n${d}\n`).join(''));
  const base = await freeRun(ISOLATES);
  const urls = Array.from({ length: ISOLATES }, (_, i) => `http://127.0.0.1:${base + i}`);
  const serve = spawn('npx', ['tsx', 'scripts/serve.ts'], {
    env: { ...process.env, EXTENSIONS_DIR: dir, PORT: String(base), KS_EDGE_ISOLATES: String(ISOLATES), KS_EDGE_SERVE_DIR: join(dir, 'state'), AUTH: 'none' },
    stdio: ['ignore', 'pipe', 'pipe'], detached: true,
  });
  let log = '';
  serve.stdout!.on('data', (d) => (log += d));
  serve.stderr!.on('data', (d) => (log += d));
  const failures: string[] = [];
  try {
    for (const u of urls) {
      const until = Date.now() + 90_000;
      for (;;) {
        try {
          if ((await fetch(`${u}/_gateway/healthz`)).ok) break;
        } catch { /* starting */ }
        if (Date.now() > until) throw new Error(`npm run serve did not come up:\n${log}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const phases: Phase[] = [];
    const seenFor = (p: Phase) => p.ids.reduce((n, id) => n + (up.ids.get(id) ?? 0), 0);

    const rate = await drive('rate-limit', urls, '/proxy/limited/x', RATE.requests, RATE.concurrency);
    phases.push(rate);
    const allowed = rate.statuses.get(200) ?? 0;
    if (Math.abs(allowed - RATE.limit) > RATE.limit * 0.1) failures.push(`rate limit: ${allowed} got through, the limit is ${RATE.limit} (±10%)`);
    if (seenFor(rate) !== allowed) failures.push(`rate limit: the upstream saw ${seenFor(rate)} requests, ${allowed} were answered 200`);

    up.setFailing(true);
    const open = await drive('circuit-open', urls, '/proxy/breaker/x', 300, 10);
    phases.push(open);
    up.setFailing(false);
    await new Promise((r) => setTimeout(r, 2200));
    const closed = await drive('circuit-recovers', urls, '/proxy/breaker/x', 100, 1);
    phases.push(closed);
    if ((open.statuses.get(503) ?? 0) < 250) failures.push(`circuit: only ${open.statuses.get(503) ?? 0} of 300 were short-circuited`);
    if ((closed.statuses.get(200) ?? 0) < 95) failures.push(`circuit: only ${closed.statuses.get(200) ?? 0} of 100 passed after the cooldown`);

    // One at a time, so that every request's first connection is the one the upstream drops.
    const retry = await drive('retries', urls, '/proxy/retry/x', 200, 1);
    phases.push(retry);
    if ((retry.statuses.get(200) ?? 0) !== 200) failures.push(`retries: ${retry.statuses.get(200) ?? 0} of 200 succeeded`);
    if (retry.retried !== 200) failures.push(`retries: ${retry.retried} retries for 200 dropped first connections`);

    const redirect = await drive('redirect', urls, '/proxy/moved/x', 200, 10);
    phases.push(redirect);
    if ((redirect.statuses.get(302) ?? 0) !== 200 || seenFor(redirect) !== 0) failures.push('redirect: not every request was answered 302 at the edge');

    for (const p of phases) {
      if (p.errors) failures.push(`${p.name}: ${p.errors} requests got no answer (lost)`);
      const duplicated = p.ids.filter((id) => (up.ids.get(id) ?? 0) > 1).length;
      if (duplicated) failures.push(`${p.name}: ${duplicated} requests reached the upstream more than once`);
    }
    console.log(`npm run load: ${ISOLATES} isolates of npm run serve, ${urls.join(' ')}\n`);
    console.log('phase              sent  answers by status                 upstream saw  retried  lost  duplicated');
    for (const p of phases) {
      const by = [...p.statuses].sort().map(([s, n]) => `${s}×${n}`).join(' ');
      const dup = p.ids.filter((id) => (up.ids.get(id) ?? 0) > 1).length;
      console.log(`${p.name.padEnd(18)} ${String(p.sent).padStart(4)}  ${by.padEnd(33)} ${String(seenFor(p)).padStart(12)}  ${String(p.retried).padStart(7)}  ${String(p.errors).padStart(4)}  ${String(dup).padStart(10)}`);
    }
    console.log(failures.length ? `\nFAILED:\n  ${failures.join('\n  ')}` : '\nall invariants hold: the rate limit held within 10% across isolates, open circuits spared the upstream, retries neither lost nor duplicated a request, redirects proxied nothing');
  } finally {
    if (serve.pid) process.kill(-serve.pid, 'SIGTERM');
    up.main.closeAllConnections();
    up.flaky.closeAllConnections();
    up.main.close();
    up.flaky.close();
    await new Promise((r) => setTimeout(r, 500));
    await rm(dir, { recursive: true, force: true });
  }
  process.exitCode = failures.length ? 1 : 0;
}

await main();
