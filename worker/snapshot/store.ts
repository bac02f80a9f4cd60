/**
 * Snapshot loading, one store per cluster. The compiled RouteTable lives in isolate memory; the cluster's pointer
 * (`pointer/<cluster>`, and for the host cluster the legacy `current` when that is all there is) is looked at no
 * more often than every SNAPSHOT_REFRESH_SECONDS, and on a warm isolate that look happens in `waitUntil`, off the
 * request's path. A failed or invalid read keeps the last good table; only a cold store waits for its first load.
 */
import * as v from 'valibot';
import type { Env } from '../env';
import { CURRENT_KEY, DEFAULT_CLUSTER, Pointer, pointerKey, Snapshot, SNAPSHOT_SCHEMA_VERSION, snapshotKey } from '../model/snapshot';
import { bodyKey } from '../model/snapshot-layout';
import { RouteTable } from '../route-table';
import { SnapshotPartError, SnapshotReadError, verifiedJson } from './lazy-part';
import { isHead, materialize, partsOf, readHead, type SnapshotParts, storedParts } from './snapshot-parts';

export interface SnapshotState {
  table: RouteTable | undefined;
  pointer: Pointer | undefined;
  loadedAt: number | undefined;
  lastCheck: number;
  lastError: string | undefined;
  /** KV reads a request had to wait for (a cold isolate's first load): counted, so "no KV read per request on a
   * warm isolate" is measured, not assumed. */
  kvReads: number;
  /** KV reads of the periodic look at `current`, made in waitUntil, off every request's path. */
  backgroundKvReads: number;
}

export class SnapshotStore {
  /** `legacy`: also read the pre-fleet `current` pointer when the cluster has none of its own (the host). */
  constructor(readonly cluster = DEFAULT_CLUSTER, private readonly legacy = true) {}

  readonly state: SnapshotState = {
    table: undefined, pointer: undefined, loadedAt: undefined, lastCheck: 0, lastError: undefined, kvReads: 0, backgroundKvReads: 0,
  };
  private inflight: Promise<void> | undefined;
  /** Snapshots that failed a check (hash, JSON, schema): never loaded again. */
  private readonly rejected = new Set<string>();

  /** Returns the table to route with (maybe none), refreshing in the background when it is due. */
  async current(env: Env, ctx: { waitUntil(p: Promise<unknown>): void }, now = Date.now()): Promise<RouteTable | undefined> {
    // Until a first table is loaded, a failed read is tried again after a second, not a whole refresh interval.
    const refreshMs = this.state.table ? refreshSeconds(env) * 1000 : Math.min(1000, refreshSeconds(env) * 1000);
    if (now - this.state.lastCheck >= refreshMs) {
      const background = this.state.table !== undefined;
      const work = this.refresh(env, now, background, ctx);
      if (background) ctx.waitUntil(work);
      else await work;
    } else if (this.state.table === undefined && this.inflight) {
      // A cold isolate's concurrent requests all wait for its one first load, rather than route with no table.
      await this.inflight;
    }
    return this.state.table;
  }

  refresh(env: Env, now = Date.now(), background = false, ctx?: { waitUntil(p: Promise<unknown>): void }): Promise<void> {
    if (this.inflight) return this.inflight;
    this.state.lastCheck = now;
    this.inflight = this.load(env, background, ctx)
      .catch((e: unknown) => {
        this.state.lastError = `${new Date(now).toISOString()} ${(e as Error).message}`;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  /**
   * A snapshot is used only when its header hashes to the key the pointer names (layout 2) or, for layout 1, its
   * whole bytes do. The head and the body are read at once; a cold store routes as soon as the head (the route
   * index) is checked, and each chunk of the body is hashed, parsed and checked against its schema when a request
   * first needs it. A warm store reads and checks every chunk before it replaces a working table.
   */
  private async load(env: Env, background: boolean, ctx?: { waitUntil(p: Promise<unknown>): void }): Promise<void> {
    const count = () => (background ? this.state.backgroundKvReads++ : this.state.kvReads++);
    count();
    let raw = await env.KV.get(pointerKey(this.cluster), 'text');
    if (raw === null && this.legacy) {
      count();
      raw = await env.KV.get(CURRENT_KEY, 'text');
    }
    if (raw === null) throw new Error(`no snapshot published yet for cluster ${JSON.stringify(this.cluster)} (KV key "${pointerKey(this.cluster)}" is missing)`);
    const pointer = v.parse(Pointer, JSON.parse(raw));
    const hash = pointer.snapshot;
    if (this.state.table?.hash === hash) {
      this.state.pointer = pointer;
      this.state.lastError = undefined;
      return;
    }
    if (this.rejected.has(hash)) throw new Error(`snapshot ${hash} was found invalid before; waiting for another`);
    count();
    // Both reads start together; the body is awaited only by the first chunk a request needs from it.
    let bodyRead: Promise<ArrayBuffer | null> | undefined = env.KV.get(bodyKey(hash), 'arrayBuffer');
    bodyRead.catch(() => undefined);
    const bytes = await env.KV.get(snapshotKey(hash), 'arrayBuffer');
    if (bytes === null) throw new Error(`pointer names snapshot ${hash}, which is missing`);
    const head = new Uint8Array(bytes);
    let parts: SnapshotParts;
    if (isHead(head)) {
      let body: Promise<Uint8Array> | undefined;
      const readBody = async () => {
        count();
        const read = bodyRead ?? env.KV.get(bodyKey(hash), 'arrayBuffer');
        bodyRead = undefined;
        let b: ArrayBuffer | null;
        try {
          b = await read;
        } catch (e) {
          body = undefined; // KV unreachable for a moment: the next request that needs the body reads it again
          throw new SnapshotReadError(`snapshot ${hash}: its body could not be read: ${(e as Error).message}`);
        }
        if (b === null) throw new SnapshotPartError(`snapshot ${hash}: its body (KV key "${bodyKey(hash)}") is missing`);
        return new Uint8Array(b);
      };
      const warm = background || this.state.table !== undefined;
      const invalid = (e: SnapshotPartError) => this.invalid(hash, e);
      parts = storedParts(await readHead(head, hash, warm ? undefined : invalid), { snapshot: hash, body: () => (body ??= readBody()), invalid, defer: !warm });
      if (warm) await this.check(materialize(parts), hash);
      else ctx?.waitUntil(bodyRead.catch(() => undefined));
    } else parts = partsOf(await this.check(layoutOne(head, hash), hash));
    this.state.table = new RouteTable(parts, hash);
    this.state.pointer = pointer;
    this.state.loadedAt = Date.now();
    this.state.lastError = undefined;
  }

  /** A snapshot that failed its checks is remembered, and never loaded again (a failed KV read is not a check). */
  private async check<T>(work: Promise<T>, hash: string): Promise<T> {
    try {
      return await work;
    } catch (e) {
      if (e instanceof SnapshotPartError) this.remember(hash);
      throw e;
    }
  }

  private remember(hash: string): void {
    if (this.rejected.size >= 64) this.rejected.delete(this.rejected.values().next().value!);
    this.rejected.add(hash);
  }

  /** A chunk of the routing snapshot was found bad on use: stop routing with it, and say why. */
  private invalid(hash: string, e: SnapshotPartError): void {
    this.remember(hash);
    if (this.state.table?.hash !== hash) return;
    this.state.table = undefined;
    this.state.lastError = `${new Date().toISOString()} ${e.message}`;
  }
}

/** A layout-1 snapshot (one JSON document, hashed whole), from an exporter before layout 2: checked in full. */
async function layoutOne(bytes: Uint8Array, hash: string): Promise<Snapshot> {
  const json = await verifiedJson(bytes, hash, `snapshot ${hash}`);
  const shape = shapeProblem(json);
  if (shape) throw new SnapshotPartError(`snapshot ${hash} is invalid: ${shape}`);
  const parsed = v.safeParse(Snapshot, json);
  if (!parsed.success) {
    const first = parsed.issues[0];
    throw new SnapshotPartError(`snapshot ${hash} is invalid: ${v.getDotPath(first) ?? ''} ${first.message}`);
  }
  return parsed.output;
}

/** What every snapshot must be before anything routes with it: this schema version, and its lists. */
function shapeProblem(json: unknown): string | undefined {
  const s = json as Partial<Record<keyof Snapshot, unknown>> | null;
  if (typeof s !== 'object' || s === null) return 'not an object';
  if (s.schemaVersion !== SNAPSHOT_SCHEMA_VERSION) return `schemaVersion ${JSON.stringify(s.schemaVersion)} is not ${SNAPSHOT_SCHEMA_VERSION}`;
  for (const k of ['apiServices', 'reverseProxies', 'bundles', 'resources'] as const) if (!Array.isArray(s[k])) return `${k} is not a list`;
  return undefined;
}

export function refreshSeconds(env: Env): number {
  const n = Number(env.SNAPSHOT_REFRESH_SECONDS ?? '10');
  return Number.isFinite(n) && n >= 0 ? n : 10;
}

