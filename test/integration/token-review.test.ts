/**
 * Token review through workerd: ks-apiserver (a stand-in that answers `/oauth/userinfo` as KubeSphere writes it,
 * test/support/ks-core.ts) confirms each token on first use in an isolate and again after TOKEN_REVIEW_SECONDS.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { apiService, jsBundle, reverseProxy, startGateway, type Gateway } from '../support/gateway';
import { startKsCore, type KsCore } from '../support/ks-core';
import { hs256, JWT_SECRET } from '../support/tokens';
import { startUpstream, type Upstream } from '../support/upstream';

let up: Upstream;
let core: KsCore;
let gw: Gateway;
const TTL_S = 2;

const manifests = (origin: string) => [
  apiService('api', { group: 'g.io', version: 'v1', url: origin }),
  reverseProxy('public', { matcher: { path: '/proxy/public' }, upstream: { url: origin } }, { annotations: { 'ks-edge.io/allow-anonymous': 'true' } }),
  jsBundle('b', { raw: Buffer.from('b();').toString('base64') }, { labels: { 'kubesphere.io/extension-ref': 'b' } }),
].join('');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A token KubeSphere issued (it is in its token cache). */
async function issued(claims: Record<string, unknown> = { username: 'alice' }, expiresIn?: string | number) {
  // A jti of its own: two tokens minted in the same second for the same user would otherwise be one string.
  const t = await hs256({ jti: crypto.randomUUID(), ...claims }, expiresIn === undefined ? {} : { expiresIn });
  core.issued.add(t);
  return t;
}
const bearer = (t: string) => ({ headers: { Authorization: `Bearer ${t}` } });

beforeAll(async () => {
  [up, core] = await Promise.all([startUpstream(), startKsCore()]);
  gw = await startGateway({
    manifests: manifests(up.origin),
    vars: { JWT_SECRET, AUTH: '', AUTHZ: 'none', CORE_ORIGIN: core.origin, TOKEN_REVIEW_SECONDS: String(TTL_S), TOKEN_REVIEW_TIMEOUT_MS: '400' },
  });
});
beforeEach(() => {
  core.mode = 'normal';
});
afterAll(async () => {
  await gw?.close();
  await Promise.all([up?.close(), core?.close()]);
});

describe('token review', () => {
  it('reviews a token once, then answers from the isolate while the review is fresh', async () => {
    core.mode = 'normal';
    const t = await issued();
    const before = core.seen.length;
    for (let i = 0; i < 5; i++) expect((await gw.fetch('/kapis/g.io/v1/x', bearer(t))).status).toBe(200);
    expect(core.seen.length - before).toBe(1);
    // The review carries the token and nothing else of the client's.
    const asked = core.seen.at(-1)!;
    expect(asked.authorization).toBe(`Bearer ${t}`);
    expect(asked.cookie).toBeUndefined();
    expect(asked['x-remote-user']).toBeUndefined();
  });

  it('a revoked token is a 401 with KubeSphere\'s body within one TOKEN_REVIEW_SECONDS, and stays refused', async () => {
    core.mode = 'normal';
    const t = await issued();
    expect((await gw.fetch('/kapis/g.io/v1/x', bearer(t))).status).toBe(200);
    core.issued.delete(t); // a logout: KubeSphere's Revoke removes it from the token cache
    const seenBefore = up.seen.length;
    const deadline = Date.now() + TTL_S * 1000 + 1500;
    let res = await gw.fetch('/kapis/g.io/v1/x', bearer(t));
    while (res.status === 200 && Date.now() < deadline) {
      await sleep(100);
      res = await gw.fetch('/kapis/g.io/v1/x', bearer(t));
    }
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'token not found in cache', reason: 'Unauthorized', code: 401 });
    // Refused for the token's remaining life, with no more reviews; /dist refuses it too, as KubeSphere does.
    const reviews = core.seen.length;
    expect((await gw.fetch('/kapis/g.io/v1/x', bearer(t))).status).toBe(401);
    expect((await gw.fetch('/dist/b/index.js', bearer(t))).status).toBe(401);
    expect(core.seen.length).toBe(reviews);
    expect(up.seen.length - seenBefore).toBeLessThanOrEqual(TTL_S * 10 + 1);
  });

  it('a disabled or deleted user\'s token is refused with KubeSphere\'s message', async () => {
    core.mode = 'normal';
    core.users.set('carol', 'Disabled');
    const disabled = await issued({ username: 'carol' });
    const gone = await issued({ username: 'dave' });
    // The snapshot has no Users here (no IAM objects), so only the review can know.
    const a = await gw.fetch('/kapis/g.io/v1/x', bearer(disabled));
    expect(a.status).toBe(401);
    expect(((await a.json()) as { message: string }).message).toBe('account is not active');
    const b = await gw.fetch('/kapis/g.io/v1/x', bearer(gone));
    expect(((await b.json()) as { message: string }).message).toBe('users.iam.kubesphere.io "dave" not found');
  });

  it('50 parallel first requests with one token make one review', async () => {
    core.mode = 'delay';
    core.delayMs = 200;
    const t = await issued();
    const before = core.seen.length;
    const answers = await Promise.all(Array.from({ length: 50 }, () => gw.fetch('/kapis/g.io/v1/x', bearer(t))));
    expect(answers.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(core.seen.length - before).toBe(1);
    core.mode = 'normal';
  });

  it('a core that does not answer is a 503 after TOKEN_REVIEW_TIMEOUT_MS, naming the reason, with nothing proxied', async () => {
    core.mode = 'hang';
    const t = await issued();
    const seen = up.seen.length;
    const started = Date.now();
    const res = await gw.fetch('/kapis/g.io/v1/x', bearer(t));
    const took = Date.now() - started;
    expect(res.status).toBe(503);
    const body = (await res.json()) as { ErrStatus: { message: string } };
    expect(body.ErrStatus.message).toContain('did not answer within TOKEN_REVIEW_TIMEOUT_MS (400 ms)');
    expect(body.ErrStatus.message).toContain('nothing was proxied');
    expect(took).toBeGreaterThanOrEqual(350);
    expect(took).toBeLessThan(3000);
    expect(up.seen.length).toBe(seen);
    core.mode = 'normal';
  });

  it('a review that names another user is no verdict: 503, nothing proxied', async () => {
    core.mode = 'liar';
    const t = await issued();
    const seen = up.seen.length;
    const res = await gw.fetch('/kapis/g.io/v1/x', bearer(t));
    expect(res.status).toBe(503);
    expect(((await res.json()) as { ErrStatus: { message: string } }).ErrStatus.message).toContain('named another user');
    expect(up.seen.length).toBe(seen);
    core.mode = 'normal';
  });

  it('a service account\'s token (userinfo cannot describe it: 500 server_error) stands', async () => {
    const t = await issued({ username: 'kubesphere:serviceaccount:ns1:robot', sub: 'kubesphere:serviceaccount:ns1:robot' });
    expect((await gw.fetch('/kapis/g.io/v1/x', bearer(t))).status).toBe(200);
  });

  it('public routes without a token and the core\'s own paths are not reviewed', async () => {
    const t = await hs256({ username: 'alice', jti: crypto.randomUUID() }); // never issued: KubeSphere would refuse it
    const before = core.seen.length;
    expect((await gw.fetch('/proxy/public')).status).toBe(200);
    // No route claims this path: it goes to CORE_ORIGIN, which authenticates by itself.
    expect((await gw.fetch('/kapis/unclaimed.io/v1/x', bearer(t))).status).toBe(404);
    expect(core.seen.length).toBe(before);
  });

  it('a token on a public route is reviewed: a revoked one never reaches the upstream as its user', async () => {
    const t = await hs256({ username: 'alice', jti: crypto.randomUUID() }); // never issued
    const seen = up.seen.length;
    const res = await gw.fetch('/proxy/public', bearer(t));
    expect(res.status).toBe(401);
    expect(up.seen.length).toBe(seen);
    const good = await issued();
    expect((await gw.fetch('/proxy/public', bearer(good))).status).toBe(200);
  });

  it('the review never outlives the token: at exp the token is refused, with no review', async () => {
    core.mode = 'normal';
    const t = await issued({ username: 'alice' }, Math.floor(Date.now() / 1000) + 2);
    expect((await gw.fetch('/kapis/g.io/v1/x', bearer(t))).status).toBe(200);
    await sleep(2200);
    const before = core.seen.length;
    const res = await gw.fetch('/kapis/g.io/v1/x', bearer(t));
    expect(res.status).toBe(401);
    expect(core.seen.length).toBe(before);
  });

  it('/_gateway/status says how tokens are reviewed', async () => {
    const t = await issued();
    const s = (await (await gw.fetch('/_gateway/status', bearer(t))).json()) as { auth: { tokenReview: Record<string, unknown> } };
    expect(s.auth.tokenReview).toMatchObject({ mode: 'on', ttlSeconds: TTL_S, timeoutMs: 400, bound: 10_000 });
    expect(s.auth.tokenReview['tokensHeld']).toBeGreaterThan(0);
  });
});

describe('token review settings', () => {
  it('stale-ok serves a token whose last review passed for one more TTL, then fails closed', async () => {
    const g = await startGateway({
      manifests: manifests(up.origin),
      vars: { JWT_SECRET, AUTH: '', AUTHZ: 'none', CORE_ORIGIN: core.origin, TOKEN_REVIEW: 'stale-ok', TOKEN_REVIEW_SECONDS: '1', TOKEN_REVIEW_TIMEOUT_MS: '200' },
    });
    try {
      core.mode = 'normal';
      const t = await issued();
      expect((await g.fetch('/kapis/g.io/v1/x', bearer(t))).status).toBe(200);
      core.mode = 'down';
      await sleep(1100);
      expect((await g.fetch('/kapis/g.io/v1/x', bearer(t))).status).toBe(200);
      await sleep(1000);
      const res = await g.fetch('/kapis/g.io/v1/x', bearer(t));
      expect(res.status).toBe(503);
      expect(((await res.json()) as { ErrStatus: { message: string } }).ErrStatus.message).toContain('HTTP 503');
    } finally {
      core.mode = 'normal';
      await g.close();
    }
  });

  it('without CORE_ORIGIN review is off and the status page says why; TOKEN_REVIEW=off says so too', async () => {
    for (const vars of [{}, { CORE_ORIGIN: core.origin, TOKEN_REVIEW: 'off' }] as Record<string, string>[]) {
      const g = await startGateway({ manifests: manifests(up.origin), vars: { JWT_SECRET, AUTH: '', AUTHZ: 'none', ...vars } });
      try {
        const t = await hs256({ username: 'alice' }); // not issued: only a review would refuse it
        const before = core.seen.length;
        expect((await g.fetch('/kapis/g.io/v1/x', bearer(t))).status).toBe(200);
        expect(core.seen.length).toBe(before);
        const s = (await (await g.fetch('/_gateway/status', bearer(t))).json()) as { auth: { tokenReview: { mode: string; warning: string } } };
        expect(s.auth.tokenReview.mode).toBe('off');
        expect(s.auth.tokenReview.warning).toMatch(vars['TOKEN_REVIEW'] ? /TOKEN_REVIEW=off/ : /no CORE_ORIGIN/);
      } finally {
        await g.close();
      }
    }
  });

  it('a bad setting fails closed naming the variable; AUTH=none reviews nothing', async () => {
    const bad = await startGateway({ manifests: manifests(up.origin), vars: { JWT_SECRET, AUTH: '', CORE_ORIGIN: core.origin, TOKEN_REVIEW: 'sometimes' } });
    try {
      const res = await bad.fetch('/kapis/g.io/v1/x');
      expect(res.status).toBe(500);
      expect(((await res.json()) as { message: string }).message).toContain('TOKEN_REVIEW must be "on", "off" or "stale-ok"');
    } finally {
      await bad.close();
    }
    const open = await startGateway({ manifests: manifests(up.origin), vars: { AUTH: 'none', CORE_ORIGIN: core.origin } });
    try {
      const before = core.seen.length;
      expect((await open.fetch('/kapis/g.io/v1/x', bearer(await hs256({ username: 'alice' })))).status).toBe(200);
      expect(core.seen.length).toBe(before);
    } finally {
      await open.close();
    }
  });
});
