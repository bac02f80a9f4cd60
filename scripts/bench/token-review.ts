/**
 * `npm run bench:review` (also part of `npm run bench`): what token review costs, on plain workerd with the
 * ks-apiserver stand-in (test/support/ks-core.ts) on 127.0.0.1.
 *
 * - first use of a token: the same fresh-token request against a gateway with review on and one with
 *   TOKEN_REVIEW=off (both verify the JWT for the first time); the difference is the review's added latency here,
 *   where the core is one loopback hop away (in production: one round trip to CORE_ORIGIN);
 * - warm requests: how many reviews the core sees during a burst of requests with one token (none: verdicts are
 *   kept for TOKEN_REVIEW_SECONDS), and their latency with review on and off.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runExport } from '../exporter/run';
import { directorySource } from '../exporter/sources/directory';
import { filesTarget } from '../exporter/targets/files';
import { buildBundle } from '../serve/bundle';
import { compatibility, workerdBinary, writeWorkerdConfig } from '../serve/workerd-config';
import { startKsCore } from '../../test/support/ks-core';
import { hs256, JWT_SECRET } from '../../test/support/tokens';
import { startUpstream } from '../../test/support/upstream';
import { freePort, healthy } from './workerd-probe';

export interface ReviewBench {
  first_use_added_ms: number;
  first_use_on_ms: number;
  first_use_off_ms: number;
  warm_requests: number;
  warm_reviews: number;
  warm_on_ms: number;
  warm_off_ms: number;
}

const TOKENS = 200;
const WARM = 2_000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function tokenReviewBench(log: (l: string) => void = console.log): Promise<ReviewBench> {
  const dir = await mkdtemp(join(tmpdir(), 'ks-edge-review-bench-'));
  const [up, core] = await Promise.all([startUpstream(), startKsCore()]);
  const procs: ChildProcess[] = [];
  try {
    const bundle = buildBundle();
    await mkdir(join(dir, 'm'));
    const doc = { apiVersion: 'extensions.kubesphere.io/v1alpha1', kind: 'APIService', metadata: { name: 'v1.g.io' }, spec: { group: 'g.io', version: 'v1', url: up.origin }, status: { state: 'Available' } };
    await writeFile(join(dir, 'm', 'r.yaml'), `---\n${JSON.stringify(doc)}\n`);
    await runExport({ source: directorySource(join(dir, 'm')), target: filesTarget(join(dir, 'kv')), cluster: 'host', clusterOrigin: undefined });
    const start = async (name: string, review: string) => {
      const port = await freePort();
      const config = join(dir, `${name}.capnp`);
      await mkdir(join(dir, `do-${name}`));
      await writeWorkerdConfig(config, {
        bundle, kvDir: join(dir, 'kv'), port, ...compatibility(), doDir: join(dir, `do-${name}`),
        vars: { JWT_SECRET, AUTHZ: 'none', CORE_ORIGIN: core.origin, TOKEN_REVIEW: review, SNAPSHOT_REFRESH_SECONDS: '3600' },
      });
      procs.push(spawn(workerdBinary(), ['serve', config], { stdio: 'ignore' }));
      const base = `http://127.0.0.1:${port}`;
      await healthy(base);
      return base;
    };
    const [on, off] = [await start('on', 'on'), await start('off', 'off')];
    const timed = async (base: string, token: string) => {
      const t0 = performance.now();
      const res = await fetch(`${base}/kapis/g.io/v1/x`, { headers: { Authorization: `Bearer ${token}` } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${base}: ${res.status}`);
      return performance.now() - t0;
    };
    const fresh = async () => {
      const t = await hs256({ username: 'alice', jti: crypto.randomUUID() });
      core.issued.add(t);
      return t;
    };
    // Warm both isolates and the connections first.
    for (const base of [on, off]) for (let i = 0; i < 50; i++) await timed(base, await fresh());
    const firstOn: number[] = [];
    const firstOff: number[] = [];
    for (let i = 0; i < TOKENS; i++) {
      firstOn.push(await timed(on, await fresh()));
      firstOff.push(await timed(off, await fresh()));
    }
    const warmToken = await fresh();
    await timed(on, warmToken);
    await timed(off, warmToken);
    const before = core.seen.length;
    const warmOn: number[] = [];
    const warmOff: number[] = [];
    for (let i = 0; i < WARM; i++) {
      warmOn.push(await timed(on, warmToken));
      warmOff.push(await timed(off, warmToken));
    }
    const result: ReviewBench = {
      first_use_on_ms: +median(firstOn).toFixed(3),
      first_use_off_ms: +median(firstOff).toFixed(3),
      first_use_added_ms: +(median(firstOn) - median(firstOff)).toFixed(3),
      warm_requests: WARM,
      warm_reviews: core.seen.length - before,
      warm_on_ms: +median(warmOn).toFixed(3),
      warm_off_ms: +median(warmOff).toFixed(3),
    };
    log(`token review (core on 127.0.0.1): first use of a token ${result.first_use_on_ms} ms with review, ${result.first_use_off_ms} ms with TOKEN_REVIEW=off: +${result.first_use_added_ms} ms (median of ${TOKENS})`);
    log(`  warm: ${result.warm_reviews} reviews in ${WARM} requests with one token; ${result.warm_on_ms} ms with review, ${result.warm_off_ms} ms off (median, sequential)`);
    return result;
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all([up.close(), core.close()]);
    await new Promise((r) => setTimeout(r, 200));
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await tokenReviewBench();
