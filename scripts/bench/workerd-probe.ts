/** What the benchmarks ask a running workerd: a free port to give it, and its isolate's V8 heap (inspector). */
import WebSocket from 'ws';

// One free-port finder for tests and benchmarks.
export { freePort } from '../../test/support/workerd';

/** Waits (at most 10 s) until a workerd just started answers `/_gateway/healthz` with 200. */
export async function healthy(base: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/_gateway/healthz`)).ok) return;
    } catch { /* starting */ }
    if (i > 200) throw new Error('workerd did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The gateway isolate's used V8 heap in MiB, after a garbage collection (workerd's `--inspector-addr`). */
export async function heapMiB(inspector: string): Promise<number> {
  const targets = (await (await fetch(`http://${inspector}/json/list`)).json()) as { webSocketDebuggerUrl: string; title?: string; id?: string }[];
  const target = targets.find((t) => /gateway/.test(`${t.title} ${t.id} ${t.webSocketDebuggerUrl}`)) ?? targets[0]!;
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  const used = await new Promise<number>((resolve) => {
    ws.on('message', (m) => {
      const msg = JSON.parse(String(m)) as { id?: number; result?: { usedSize: number } };
      if (msg.id === 2) resolve(msg.result!.usedSize);
    });
    ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
    ws.send(JSON.stringify({ id: 2, method: 'Runtime.getHeapUsage' }));
  });
  ws.close();
  return +(used / 1024 / 1024).toFixed(1);
}

/**
 * The isolate's CPU time while `action` runs, from V8's sampling profiler through workerd's inspector: the samples
 * that were not idle (JavaScript, the engine's own work, garbage collection), so time spent waiting for I/O such as
 * a KV read does not count. `connect` is called before the first request, so a fresh process is profiled cold.
 */
export async function cpuMs(inspector: string, action: () => Promise<void>): Promise<{ cpu: number; top: [string, number][] }> {
  const targets = (await (await fetch(`http://${inspector}/json/list`)).json()) as { webSocketDebuggerUrl: string; title?: string; id?: string }[];
  const target = targets.find((t) => /gateway/.test(`${t.title} ${t.id} ${t.webSocketDebuggerUrl}`)) ?? targets[0]!;
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  let id = 0;
  const pending = new Map<number, (r: unknown) => void>();
  ws.on('message', (m) => {
    const msg = JSON.parse(String(m)) as { id?: number; result?: unknown };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result);
  });
  const send = (method: string, params: object = {}) => new Promise<unknown>((r) => {
    pending.set(++id, r);
    ws.send(JSON.stringify({ id, method, params }));
  });
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: 50 });
  await send('Profiler.start');
  await action();
  const { profile } = (await send('Profiler.stop')) as {
    profile: { nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[]; samples: number[]; timeDeltas: number[] };
  };
  ws.close();
  const names = new Map(profile.nodes.map((n) => [n.id, n.callFrame.functionName || `(anonymous ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber})`]));
  const byName = new Map<string, number>();
  let cpu = 0;
  // A sample's time is the gap to the next one.
  for (let i = 0; i + 1 < profile.samples.length; i++) {
    const name = names.get(profile.samples[i]!)!;
    if (name === '(idle)') continue;
    const us = profile.timeDeltas[i + 1]!;
    cpu += us;
    byName.set(name, (byName.get(name) ?? 0) + us);
  }
  const top = [...byName].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([n, us]) => [n, +(us / 1000).toFixed(2)] as [string, number]);
  return Object.assign({ cpu: +(cpu / 1000).toFixed(2), top }, { all: byName });
}
