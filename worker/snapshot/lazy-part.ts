/**
 * A snapshot part read on first use, chunk by chunk. Readers are synchronous: a loaded chunk answers at once, a
 * missing one throws `NotLoaded` carrying its read, and `loaded(f)` awaits that read and runs `f` again. So a warm
 * isolate never waits and never awaits more than once per call site, and a cold one reads (hashes, parses, checks
 * against its schema) only the chunks its requests touch.
 */
import * as v from 'valibot';
import { type Chunk, KEYED_PARTS, type Part, PART_ITEMS, type PartName } from '../model/snapshot-layout';

/** Thrown by a reader whose chunk is not loaded yet. Not an Error: it is caught at once, so no stack is captured. */
export class NotLoaded {
  constructor(readonly load: Promise<unknown>) {}
}

/** A chunk whose bytes do not match their hash, or whose items do not match their schema. */
export class SnapshotPartError extends Error {}

/** A part of the snapshot that could not be read this time (KV unreachable): the next request tries again. */
export class SnapshotReadError extends Error {}

/**
 * Runs `f`, loading what it asks for until it has everything (a cold isolate's few chunks). Every round loads at
 * least one chunk, so the rounds are bounded by the snapshot's chunks; the bound only guards against a bug.
 */
export async function loaded<T>(f: () => T): Promise<T> {
  for (let round = 0; ; round++) {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof NotLoaded)) throw e;
      if (round > 100_000) throw new Error('snapshot parts did not load');
      await e.load;
    }
  }
}

/**
 * `f()` at once when everything it reads is loaded (no promise, no microtask: a warm isolate's case), else a
 * promise of it once loaded. Callers test `instanceof Promise` before awaiting.
 */
export function readOrLoad<T>(f: () => T): T | Promise<T> {
  try {
    return f();
  } catch (e) {
    if (e instanceof NotLoaded) return e.load.then(() => loaded(f));
    throw e;
  }
}

/** Where a stored snapshot's chunks are: the head's tail at once, the body once its KV read ends. */
export interface ChunkSource {
  snapshot: string;
  head: Uint8Array;
  body: () => Promise<Uint8Array>;
  /** Told when a chunk is found bad, so the store stops using the snapshot. */
  invalid: (e: SnapshotPartError) => void;
  /**
   * When set (a cold isolate's table), a chunk is used once its bytes match their hash, and its schema check is
   * handed here to run after the answer (`checkAfterAnswer`); else the check runs before the chunk is used.
   */
  defer?: boolean;
}

/** Schema checks of chunks a cold isolate used on trust of their hash: run once the request has its answer. */
const unchecked: (() => void)[] = [];

/**
 * Runs the pending schema checks after this request's answer (a timer, so the answer goes first). A check that
 * fails tells its store, which drops the snapshot. Free when nothing is pending, as on every warm request.
 */
export function checkAfterAnswer(ctx: { waitUntil(p: Promise<unknown>): void }): void {
  if (unchecked.length === 0) return;
  const batch = unchecked.splice(0);
  ctx.waitUntil(new Promise((r) => setTimeout(r, 0)).then(() => {
    for (const check of batch) check();
  }));
}

const schemas = new Map<PartName, v.GenericSchema>();
function chunkSchema(name: PartName): v.GenericSchema {
  let s = schemas.get(name);
  if (!s) {
    const item = PART_ITEMS[name] as v.GenericSchema;
    schemas.set(name, (s = v.array(KEYED_PARTS.has(name) ? v.tuple([v.string(), item]) : item)));
  }
  return s;
}

const decoder = new TextDecoder();

async function readChunk(src: ChunkSource, name: PartName, part: Part, c: Chunk): Promise<unknown[]> {
  const where = `snapshot ${src.snapshot}: ${name} chunk at ${part.in} byte ${c.at}`;
  const bytes = part.in === 'head' ? src.head : await src.body();
  if (c.at < 0 || c.size < 0 || c.at + c.size > bytes.byteLength) throw new SnapshotPartError(`${where} lies outside the stored bytes`);
  const json = await verifiedJson(bytes.subarray(c.at, c.at + c.size), c.sha256, where);
  if (!Array.isArray(json)) throw new SnapshotPartError(`${where} is not a list`);
  if (src.defer) deferCheck(() => checkChunk(name, json, where), src.invalid);
  else checkChunk(name, json, where);
  return json;
}

/** Queues a check for after the answer; `invalid` hears of its failure. */
export function deferCheck(check: () => void, invalid: (e: SnapshotPartError) => void): void {
  unchecked.push(() => {
    try {
      check();
    } catch (e) {
      invalid(e instanceof SnapshotPartError ? e : new SnapshotPartError((e as Error).message));
    }
  });
}

/** `is` checks without copying what JSON.parse made (the heap holds one copy); safeParse only to say why not. */
function checkChunk(name: PartName, json: unknown[], where: string): void {
  const schema = chunkSchema(name);
  if (v.is(schema, json)) return;
  const first = v.safeParse(schema, json).issues![0];
  throw new SnapshotPartError(`${where} is invalid: ${v.getDotPath(first) ?? ''} ${first.message}`);
}

/** A part's chunks, each read once; a bad one keeps failing (the store drops the snapshot). */
class Chunks<T> {
  private readonly items: (T[] | undefined)[];
  private readonly reads: (Promise<void> | undefined)[] = [];

  constructor(private readonly src: ChunkSource | undefined, private readonly name: PartName, readonly part: Part, loadedItems?: T[]) {
    this.items = loadedItems ? [loadedItems] : new Array<T[] | undefined>(part.chunks.length);
  }

  get(i: number): T[] {
    return this.items[i] ?? this.missing([i]);
  }

  /** Every chunk's items, in order. */
  all(): T[][] {
    const missing: number[] = [];
    for (let i = 0; i < this.part.chunks.length; i++) if (!this.items[i]) missing.push(i);
    if (missing.length) this.missing(missing);
    return this.items as T[][];
  }

  private missing(which: number[]): never {
    throw new NotLoaded(Promise.all(which.map((i) => (this.reads[i] ??= this.read(i)))));
  }

  /** Makes sure the chunks holding these positions are loaded: one NotLoaded for all that are not. */
  ensure(positions: Iterable<number>): void {
    const missing = new Set<number>();
    for (const at of positions) {
      const c = chunkOf(this.part, at);
      if (!this.items[c]) missing.add(c);
    }
    if (missing.size) this.missing([...missing]);
  }

  private async read(i: number): Promise<void> {
    try {
      this.items[i] = (await readChunk(this.src!, this.name, this.part, this.part.chunks[i]!)) as T[];
    } catch (e) {
      if (e instanceof SnapshotPartError) this.src!.invalid(e);
      // A bad chunk stays bad; a failed read (KV unreachable for a moment) is tried again by the next request.
      else this.reads[i] = undefined;
      throw e;
    }
  }
}

/** The chunk holding position or key `at`: the last one whose first is ≤ it. */
function chunkOf(part: Part, at: number | string): number {
  const chunks = part.chunks;
  let lo = 0;
  let hi = chunks.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (chunks[mid]!.first <= at) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

const inMemory = (count: number): Part => ({ in: 'head', count, chunks: [{ at: 0, size: 0, sha256: '0'.repeat(64), first: 0 }] });

/** A list part (routes, resources, roles, binding lists): items by position. */
export class LazyList<T> {
  static of<T>(items: T[]): LazyList<T> {
    return new LazyList<T>(new Chunks<T>(undefined, 'resources', inMemory(items.length), items));
  }

  static stored<T>(src: ChunkSource, name: PartName, part: Part): LazyList<T> {
    return new LazyList<T>(new Chunks<T>(src, name, part));
  }

  /** The chunk read last: a walk's positions ascend, and most fall in the chunk before. */
  private lastFirst = 0;
  private lastEnd = 0;
  private lastItems: T[] = [];

  private constructor(private readonly chunks: Chunks<T>) {}

  get length(): number {
    return this.chunks.part.count;
  }

  at(i: number): T | undefined {
    if (i >= this.lastFirst && i < this.lastEnd) return this.lastItems[i - this.lastFirst];
    if (i < 0 || i >= this.length) return undefined;
    const c = chunkOf(this.chunks.part, i);
    const items = this.chunks.get(c);
    const first = this.chunks.part.chunks[c]!.first as number;
    this.lastFirst = first;
    this.lastEnd = first + items.length;
    this.lastItems = items;
    return items[i - first];
  }

  all(): T[] {
    const parts = this.chunks.all();
    return parts.length === 1 ? parts[0]! : parts.flat();
  }

  /** Loads the chunks of all these positions at once (a binding walk's bindings, their roles). */
  ensure(positions: Iterable<number>): void {
    if (this.chunks.part.chunks.length > 1) this.chunks.ensure(positions);
  }
}

/** A keyed part (bundle links, users, a namespace's or workspace's bindings): values by key. */
export class LazyRecord<V> {
  static of<V>(entries: Iterable<[string, V]>): LazyRecord<V> {
    const map = new Map<string, V>();
    for (const [k, val] of entries) if (!map.has(k)) map.set(k, val); // the first of a key wins, as stored
    return new LazyRecord<V>(new Chunks<[string, V]>(undefined, 'users', inMemory(map.size), [...map]), [map]);
  }

  static stored<V>(src: ChunkSource, name: PartName, part: Part): LazyRecord<V> {
    return new LazyRecord<V>(new Chunks<[string, V]>(src, name, part), []);
  }

  private constructor(private readonly chunks: Chunks<[string, V]>, private readonly maps: (Map<string, V> | undefined)[]) {}

  get size(): number {
    return this.chunks.part.count;
  }

  get(key: string): V | undefined {
    if (this.size === 0) return undefined;
    const c = this.chunks.part.chunks.length === 1 ? 0 : chunkOf(this.chunks.part, key);
    let map = this.maps[c];
    if (!map) this.maps[c] = map = new Map(this.chunks.get(c));
    return map.get(key);
  }

  entries(): [string, V][] {
    return this.chunks.all().flat();
  }
}

/** Bytes that must hash to `sha256`, parsed as JSON; `what` names them in the error. */
export async function verifiedJson(bytes: Uint8Array, sha256: string, what: string): Promise<unknown> {
  const digest = await sha256Hex(bytes);
  if (digest !== sha256) throw new SnapshotPartError(`${what} does not match its hash (${digest})`);
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch (e) {
    throw new SnapshotPartError(`${what} is not JSON: ${(e as Error).message}`);
  }
}

export async function sha256Hex(data: string | ArrayBuffer | ArrayBufferView): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', typeof data === 'string' ? new TextEncoder().encode(data) : data);
  let hex = '';
  for (const b of new Uint8Array(digest)) hex += (b < 16 ? '0' : '') + b.toString(16);
  return hex;
}
