/**
 * One edge for a fleet: a snapshot store per cluster. The host cluster (HOST_CLUSTER, default `host`) serves
 * unprefixed paths; a member's store is made the first time a request names that cluster, then refreshed like the
 * host's. Which clusters are published is known from the list of `pointer/` keys, itself looked at no more often
 * than the refresh interval (in the background once known), so a request naming an unknown cluster costs no KV
 * read. At most MAX_MEMBERS members are held in an isolate; the least recently used is dropped first (and loaded
 * again — a KV read and a parse — if asked for later).
 */
import type { Env } from '../env';
import { DEFAULT_CLUSTER, POINTER_PREFIX } from '../model/snapshot';
import type { RouteTable } from '../route-table';
import { refreshSeconds, SnapshotStore } from '../snapshot/store';

export const MAX_MEMBERS = 16;

type Ctx = { waitUntil(p: Promise<unknown>): void };

export const hostCluster = (env: Pick<Env, 'HOST_CLUSTER'>) => env.HOST_CLUSTER || DEFAULT_CLUSTER;

class Fleet {
  private hostStore: SnapshotStore | undefined;
  private readonly members = new Map<string, SnapshotStore>();
  private published: Set<string> | undefined;
  private listedAt = 0;
  private listing: Promise<void> | undefined;
  /** KV list calls, counted like the stores' reads. */
  readonly stats = { lists: 0, evictions: 0 };

  host(env: Env): SnapshotStore {
    const name = hostCluster(env);
    if (this.hostStore?.cluster !== name) this.hostStore = new SnapshotStore(name, true);
    return this.hostStore;
  }

  /** A published member's table; undefined when the edge has no snapshot for that cluster. */
  async member(env: Env, ctx: Ctx, name: string, now = Date.now()): Promise<RouteTable | undefined> {
    const clusters = await this.clusters(env, ctx, now);
    let store = this.members.get(name);
    if (!clusters.has(name)) {
      if (store) this.members.delete(name);
      return undefined;
    }
    if (store) {
      this.members.delete(name); // re-inserted below: the map's order is the LRU order
    } else {
      store = new SnapshotStore(name, false);
      if (this.members.size >= MAX_MEMBERS) {
        this.members.delete(this.members.keys().next().value!);
        this.stats.evictions++;
      }
    }
    this.members.set(name, store);
    return store.current(env, ctx, now);
  }

  /** The clusters with a pointer in KV; refreshed off the request's path once known. */
  async clusters(env: Env, ctx: Ctx, now = Date.now()): Promise<ReadonlySet<string>> {
    const due = now - this.listedAt >= refreshSeconds(env) * 1000;
    if (due && !this.listing) {
      this.listedAt = now;
      this.listing = this.list(env).finally(() => (this.listing = undefined));
      if (this.published) ctx.waitUntil(this.listing);
    }
    if (!this.published && this.listing) await this.listing;
    return this.published ?? new Set();
  }

  private async list(env: Env): Promise<void> {
    const names = new Set<string>();
    let cursor: string | undefined;
    try {
      do {
        this.stats.lists++;
        const page = await env.KV.list({ prefix: POINTER_PREFIX, cursor });
        for (const k of page.keys) names.add(k.name.slice(POINTER_PREFIX.length));
        cursor = page.list_complete ? undefined : (page as { cursor?: string }).cursor;
      } while (cursor);
      this.published = names;
    } catch (e) {
      // Keep the last good list; a first failure leaves members unknown (their paths go to CORE_ORIGIN).
      console.error(`ks-edge: listing the fleet's pointers failed: ${(e as Error).message}`);
      this.published ??= new Set();
    }
  }

  /** Every member store this isolate holds, for the status page. */
  loaded(): ReadonlyMap<string, SnapshotStore> {
    return this.members;
  }
}


/** One fleet per isolate. */
export const fleet = new Fleet();
