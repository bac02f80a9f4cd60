/** What the benchmarks ask a running workerd: a free port to give it, and its isolate's V8 heap (inspector). */
import WebSocket from 'ws';

// One free-port finder for tests and benchmarks.
export { freePort } from '../../test/support/workerd';

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
