/**
 * `--watch`: one list-then-watch loop per extension kind and per kind authorization reads (IAM, Namespaces). A loop relists on 410 Gone (its resourceVersion expired),
 * restarts after any other error with capped backoff, asks for bookmarks so resumes are cheap, and every change
 * schedules an export; bursts within the debounce window become one export, and exports never overlap.
 * @kubernetes/client-node's own ListWatch neither pages, nor restarts after errors, nor asks for bookmarks.
 */
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { httpStatusOf } from './kube-client';
import { apiPathOf, EXTENSION_PLURALS, IAM_PLURALS, listKind, type WatchedKind } from './sources/kube';

export interface WatchOptions {
  kc: KubeConfig;
  /** One export run; its errors are logged and the loop goes on. It may ask for an earlier resync (health probes). */
  exportOnce: () => Promise<{ resyncMs?: number } | void>;
  debounceMs?: number;
  /** Also export this often without a change (re-reads ConfigMaps, re-probes health). */
  resyncMs?: number;
  signal: AbortSignal;
  log: (line: string) => void;
  /** Resume every kind's watch from this resourceVersion instead of listing first (a 410 still relists). */
  resumeFrom?: string;
}

class Gone extends Error {}

export async function watchAndExport(o: WatchOptions): Promise<void> {
  const debounce = o.debounceMs ?? 1000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;

  let resync: NodeJS.Timeout | undefined;
  const run = async () => {
    if (running) {
      again = true;
      return;
    }
    do {
      again = false;
      running = o.exportOnce().then(
        (r) => {
          const next = Math.min(o.resyncMs ?? Infinity, (r && r.resyncMs) || Infinity);
          clearTimeout(resync);
          if (Number.isFinite(next) && !o.signal.aborted) resync = setTimeout(schedule, next);
        },
        (e: unknown) => o.log(`export failed (previous snapshot stays in force): ${(e as Error).message}`),
      );
      await running;
      running = undefined;
    } while (again && !o.signal.aborted);
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void run(), debounce);
  };

  o.signal.addEventListener('abort', () => {
    clearTimeout(timer);
    clearTimeout(resync);
  });
  await Promise.all([...EXTENSION_PLURALS, ...IAM_PLURALS].map((k) => loop(o, k, schedule)));
  await running;
}

async function loop(o: WatchOptions, k: WatchedKind, changed: () => void): Promise<void> {
  const plural = k.plural;
  let resourceVersion = o.resumeFrom ?? '';
  let backoff = 500;
  while (!o.signal.aborted) {
    try {
      if (!resourceVersion) {
        resourceVersion = (await listKind(o.kc, k)).resourceVersion;
        changed();
      }
      resourceVersion = await watchFrom(o, k, resourceVersion, changed);
      backoff = 500;
    } catch (e) {
      if (o.signal.aborted) return;
      if (httpStatusOf(e) === 404 && k.kind !== 'ReverseProxy' && k.kind !== 'APIService' && k.kind !== 'JSBundle') {
        o.log(`watch ${plural}: not served by this API server; not watched (exports publish no authorization data)`);
        return;
      }
      if (e instanceof Gone) {
        o.log(`watch ${plural}: resourceVersion expired (410), relisting`);
        resourceVersion = '';
        continue;
      }
      o.log(`watch ${plural}: ${(e as Error).message}; restarting in ${backoff} ms`);
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 30_000);
    }
  }
}

/** Watches until the server ends the stream; returns the last resourceVersion seen. */
function watchFrom(o: WatchOptions, k: WatchedKind, from: string, changed: () => void): Promise<string> {
  let rv = from;
  return new Promise<string>((resolve, reject) => {
    let controller: AbortController | undefined;
    let settled = false;
    const stop = () => controller?.abort();
    o.signal.addEventListener('abort', stop, { once: true });
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      o.signal.removeEventListener('abort', stop);
      if (!err) resolve(rv);
      else reject(httpStatusOf(err) === 410 ? new Gone() : err);
    };
    new Watch(o.kc)
      .watch(apiPathOf(k), { allowWatchBookmarks: true, resourceVersion: rv },
        (phase, obj: { metadata?: { resourceVersion?: string }; code?: number }) => {
          if (phase === 'ERROR') {
            // Settle first: aborting the stream calls `done` with an AbortError, which must not win.
            finish(obj?.code === 410 ? Object.assign(new Error('expired'), { code: 410 }) : new Error(`watch error event: ${JSON.stringify(obj)}`));
            controller?.abort();
            return;
          }
          if (obj?.metadata?.resourceVersion) rv = obj.metadata.resourceVersion;
          if (phase !== 'BOOKMARK') changed();
        },
        (err) => finish(err ?? undefined))
      .then((c) => {
        controller = c;
        if (settled) c.abort();
      }, finish);
  });
}
