/**
 * The snapshot store over a stored (layout 2) snapshot, with a KV that can fail: a read that fails for a moment is
 * tried again and never marks the snapshot bad; a bad chunk does.
 */
import { describe, expect, it } from 'vitest';
import { encodeSnapshot, type EncodedSnapshot } from '../../scripts/exporter/snapshot-encode';
import { compileDirectives } from '../../worker/directives/parse';
import type { Env } from '../../worker/env';
import type { Snapshot } from '../../worker/model/snapshot';
import { loaded } from '../../worker/snapshot/lazy-part';
import { SnapshotStore } from '../../worker/snapshot/store';

const policy = { allowAnonymous: false, timeoutMs: 30_000 };
const site = (name: string): Snapshot => ({
  schemaVersion: 1, cluster: 'host', apiServices: [], bundles: [], resources: [],
  reverseProxies: [{ name, available: true, policy, upstream: { origin: 'http://127.0.0.1:9' }, matchers: [{ path: '/proxy/a/*', method: '*' }], directives: compileDirectives(undefined) }],
});

/** A KV whose next `failures` body reads throw, as KV does when it cannot be reached. */
function kv() {
  const values = new Map<string, Uint8Array | string>();
  const state = { failures: 0 };
  const env = {
    SNAPSHOT_REFRESH_SECONDS: '10',
    KV: {
      get: async (key: string, type: string) => {
        if (key.startsWith('snapshot-body/') && state.failures > 0) {
          state.failures--;
          throw new Error('KV GET failed: 503');
        }
        const v = values.get(key);
        if (v === undefined) return null;
        return type === 'arrayBuffer' && typeof v !== 'string' ? v.slice().buffer : v;
      },
    },
  } as unknown as Env;
  const publish = (e: EncodedSnapshot) => {
    values.set(`snapshot/${e.hash}`, new Uint8Array(e.head));
    values.set(`snapshot-body/${e.hash}`, new Uint8Array(e.body));
    values.set('pointer/host', JSON.stringify({ snapshot: e.hash, generatedAt: new Date().toISOString(), cluster: 'host', counts: {} }));
  };
  return { env, state, publish };
}

const ctx = { waitUntil: () => {} };
const routeName = async (store: SnapshotStore) => (await loaded(() => store.state.table!.matchReverseProxy('/proxy/a/x', 'GET')))?.route.name;

describe('snapshot store', () => {
  it('a cold isolate whose body read fails for a moment answers 503 once, then reads it again', async () => {
    const { env, state, publish } = kv();
    publish(encodeSnapshot(site('one')));
    const store = new SnapshotStore('host', false);
    state.failures = 1;
    await store.current(env, ctx, 1_000);
    await expect(routeName(store)).rejects.toThrow(/its body could not be read: KV GET failed: 503/);
    expect(await routeName(store)).toBe('one');
    expect(store.state.lastError).toBeUndefined();
  });

  it('a warm isolate keeps its table when the new body cannot be read, and takes the new one on the next look', async () => {
    const { env, state, publish } = kv();
    publish(encodeSnapshot(site('one')));
    const store = new SnapshotStore('host', false);
    await store.current(env, ctx, 1_000);
    expect(await routeName(store)).toBe('one');
    const two = encodeSnapshot(site('two'));
    publish(two);
    state.failures = 1;
    await store.refresh(env, 50_000, true);
    expect(await routeName(store)).toBe('one');
    expect(store.state.lastError).toMatch(/KV GET failed: 503/);
    await store.refresh(env, 100_000, true);
    expect(store.state.table!.hash).toBe(two.hash);
    expect(await routeName(store)).toBe('two');
  });

  it('a bad chunk is remembered: the snapshot is not loaded again', async () => {
    const { env, publish } = kv();
    publish(encodeSnapshot(site('one')));
    const store = new SnapshotStore('host', false);
    await store.current(env, ctx, 1_000);
    const bad = encodeSnapshot({ ...site('two'), reverseProxies: [{ ...site('two').reverseProxies[0]!, available: 'yes' as unknown as boolean }] });
    publish(bad);
    await store.refresh(env, 50_000, true);
    expect(store.state.lastError).toMatch(/is invalid: 0\.available/);
    await store.refresh(env, 100_000, true);
    expect(store.state.lastError).toMatch(new RegExp(`snapshot ${bad.hash} was found invalid before`));
    expect(await routeName(store)).toBe('one');
  });
});
