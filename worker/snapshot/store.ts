/**
 * Snapshot loading, one store per cluster. The compiled RouteTable lives in isolate memory; the cluster's pointer
 * (`pointer/<cluster>`, and for the host cluster the legacy `current` when that is all there is) is looked at no
 * more often than every SNAPSHOT_REFRESH_SECONDS, and on a warm isolate that look happens in `waitUntil`, off the
 * request's path. A failed or invalid read keeps the last good table; only a cold store waits for its first load.
 */
import * as v from 'valibot';
import type { Env } from '../env';
import { CURRENT_KEY, DEFAULT_CLUSTER, Pointer, pointerKey, Snapshot, SNAPSHOT_SCHEMA_VERSION, snapshotKey } from '../model/snapshot';
import { RouteTable } from '../route-table';

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
  /** Snapshots that failed the field-by-field check: never loaded again. */
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
   * A snapshot is used only when its bytes hash to the key the pointer names (so they are exactly what the exporter
   * wrote, after validating every object with the same schemas). A cold store then routes at once and checks the
   * snapshot field by field off the request's path (dropping it, and saying why, if it fails); a warm store checks
   * before it replaces a working table.
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
    if (this.state.table?.hash === pointer.snapshot) {
      this.state.pointer = pointer;
      this.state.lastError = undefined;
      return;
    }
    if (this.rejected.has(pointer.snapshot)) throw new Error(`snapshot ${pointer.snapshot} was found invalid before; waiting for another`);
    count();
    // Bytes, not text: they are hashed as they are, then decoded once (a 5.6 MB snapshot saves ~6 ms of re-encoding).
    const bytes = await env.KV.get(snapshotKey(pointer.snapshot), 'arrayBuffer');
    if (bytes === null) throw new Error(`pointer names snapshot ${pointer.snapshot}, which is missing`);
    const digest = await sha256Hex(bytes);
    if (digest !== pointer.snapshot) throw new Error(`snapshot ${pointer.snapshot} does not match its hash (${digest})`);
    const json: unknown = JSON.parse(new TextDecoder().decode(bytes));
    const shape = shapeProblem(json);
    if (shape) throw new Error(`snapshot ${pointer.snapshot} is invalid: ${shape}`);
    const cold = !background && this.state.table === undefined && ctx !== undefined;
    if (!cold) this.validate(json, pointer.snapshot);
    this.state.table = new RouteTable(json as Snapshot, pointer.snapshot);
    this.state.pointer = pointer;
    this.state.loadedAt = Date.now();
    this.state.lastError = undefined;
    if (cold) {
      ctx.waitUntil((async () => {
        await new Promise((r) => setTimeout(r, 0)); // after the first request has been routed
        try {
          this.validate(json, pointer.snapshot);
        } catch (e) {
          if (this.state.table?.hash !== pointer.snapshot) return;
          this.state.table = undefined;
          this.state.lastError = `${new Date().toISOString()} ${(e as Error).message}`;
        }
      })());
    }
  }

  private validate(json: unknown, hash: string): void {
    try {
      validate(json, hash);
    } catch (e) {
      if (this.rejected.size >= 64) this.rejected.delete(this.rejected.values().next().value!);
      this.rejected.add(hash);
      throw e;
    }
  }
}

/** Field-by-field validation against the schemas (valibot): what a cold store defers past its first request. */
function validate(json: unknown, hash: string): void {
  const parsed = v.safeParse(Snapshot, json);
  if (!parsed.success) {
    const first = parsed.issues[0];
    throw new Error(`snapshot ${hash} is invalid: ${v.getDotPath(first) ?? ''} ${first.message}`);
  }
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

export async function sha256Hex(data: string | ArrayBuffer): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', typeof data === 'string' ? new TextEncoder().encode(data) : data);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

