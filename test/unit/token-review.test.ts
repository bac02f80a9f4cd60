/**
 * auth/token-review.ts and auth/review-settings.ts: reading ks-apiserver's answers, the per-isolate verdicts (their
 * TTL, the token's exp, the bound), and the settings — against the ks-apiserver stand-in over real HTTP.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { reviewSettings } from '../../worker/auth/review-settings';
import { confirmToken, forgetReviews, REVIEWS_MAX, reviewsHeld, verdictOf } from '../../worker/auth/token-review';
import { startKsCore, type KsCore } from '../support/ks-core';
import { hs256 } from '../support/tokens';

let core: KsCore;
beforeAll(async () => {
  core = await startKsCore();
});
afterAll(() => core.close());
beforeEach(() => {
  forgetReviews();
  core.mode = 'normal';
});

const settings = (over: Record<string, string> = {}) => {
  const s = reviewSettings({ CORE_ORIGIN: core.origin, TOKEN_REVIEW_SECONDS: '30', ...over });
  if (!('origin' in s)) throw new Error('review is off');
  return s;
};
const never = () => {};
const issue = async (username = 'alice') => {
  const t = await hs256({ username, jti: crypto.randomUUID() });
  core.issued.add(t);
  return t;
};
const HOUR = 3_600_000;

describe('verdictOf: ks-apiserver\'s answers to /oauth/userinfo', () => {
  it('200 naming the user stands; naming another is no verdict', () => {
    expect(verdictOf(200, '{\n "sub": "alice",\n "url": "alice"\n}', 'alice')).toEqual({ stands: true });
    expect(verdictOf(200, '{"sub":"mallory"}', 'alice')).toMatchObject({ fault: expect.stringContaining('another user') });
    expect(verdictOf(200, 'not json', 'alice')).toHaveProperty('fault');
  });
  it('401 with a Status is KubeSphere refusing, with its message; other 401s are no verdict', () => {
    const body = '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"token not found in cache","reason":"Unauthorized","code":401}\n';
    expect(verdictOf(401, body, 'alice')).toEqual({ refused: 'token not found in cache' });
    expect(verdictOf(401, '"login_required"', 'alice')).toMatchObject({ fault: expect.stringContaining('without its Authorization') });
    expect(verdictOf(401, '<html>', 'alice')).toHaveProperty('fault');
  });
  it('500 server_error means authentication passed; other statuses are no verdict', () => {
    expect(verdictOf(500, '{"error":"server_error"}', 'kubesphere:serviceaccount:a:b')).toEqual({ stands: true });
    for (const code of [302, 403, 404, 500, 502, 503]) expect(verdictOf(code, 'x', 'alice')).toHaveProperty('fault');
  });
});

describe('confirmToken', () => {
  it('a fresh review answers synchronously; an aged one is asked again; a refusal is kept', async () => {
    const s = settings();
    const t = await issue();
    const now = Date.now();
    expect(await confirmToken(t, 'alice', now + HOUR, s, never, now)).toEqual({ ok: true, how: 'reviewed' });
    const asked = core.seen.length;
    expect(confirmToken(t, 'alice', now + HOUR, s, never, now + 29_000)).toEqual({ ok: true, how: 'cached' });
    core.issued.delete(t);
    const later = confirmToken(t, 'alice', now + HOUR, s, never, now + 31_000);
    expect(later).toBeInstanceOf(Promise);
    expect(await later).toEqual({ ok: false, status: 401, message: 'token not found in cache' });
    expect(core.seen.length).toBe(asked + 1);
    expect(confirmToken(t, 'alice', now + HOUR, s, never, now + 40 * 60_000)).toMatchObject({ ok: false, status: 401 });
  });

  it('a refusal of the token itself stands for its life; a refusal of its user is asked again after one TTL', async () => {
    const s = settings();
    const now = Date.now();
    core.users.set('carol', 'Disabled');
    const t = await issue('carol');
    expect(await confirmToken(t, 'carol', now + HOUR, s, never, now)).toMatchObject({ ok: false, message: 'account is not active' });
    expect(confirmToken(t, 'carol', now + HOUR, s, never, now + 29_000)).toMatchObject({ ok: false, status: 401 });
    core.users.set('carol', 'Active'); // an administrator enables the account again
    expect(await confirmToken(t, 'carol', now + HOUR, s, never, now + 31_000)).toMatchObject({ ok: true, how: 'reviewed' });
  });

  it('never past the token\'s exp: a review of a token about to expire is not used after it', async () => {
    const s = settings();
    const t = await issue();
    const now = Date.now();
    await confirmToken(t, 'alice', now + 1_000, s, never, now);
    expect(confirmToken(t, 'alice', now + 1_000, s, never, now + 999)).toEqual({ ok: true, how: 'cached' });
    expect(confirmToken(t, 'alice', now + 1_000, s, never, now + 1_000)).toBeInstanceOf(Promise);
  });

  it('past three quarters of the TTL, the next review starts in the background', async () => {
    const s = settings();
    const t = await issue();
    const now = Date.now();
    await confirmToken(t, 'alice', now + HOUR, s, never, now);
    const started: Promise<unknown>[] = [];
    expect(confirmToken(t, 'alice', now + HOUR, s, (p) => started.push(p), now + 10_000)).toEqual({ ok: true, how: 'cached' });
    expect(started).toHaveLength(0);
    expect(confirmToken(t, 'alice', now + HOUR, s, (p) => started.push(p), now + 23_000)).toEqual({ ok: true, how: 'cached' });
    expect(started).toHaveLength(1);
    await started[0];
  });

  it('holds at most REVIEWS_MAX verdicts however many tokens come', async () => {
    const s = settings();
    const now = Date.now();
    const tokens = await Promise.all(Array.from({ length: REVIEWS_MAX + 50 }, () => issue()));
    for (let i = 0; i < tokens.length; i += 100) {
      await Promise.all(tokens.slice(i, i + 100).map((t) => confirmToken(t, 'alice', now + HOUR, s, never)));
    }
    expect(reviewsHeld()).toBe(REVIEWS_MAX);
    // The oldest were dropped: a dropped token is reviewed again, not trusted.
    expect(confirmToken(tokens[0]!, 'alice', now + HOUR, s, never)).toBeInstanceOf(Promise);
  }, 60_000);
});

describe('reviewSettings', () => {
  it('defaults to on with CORE_ORIGIN, 30 s, 3000 ms; off without it, saying why', () => {
    expect(reviewSettings({ CORE_ORIGIN: 'https://ks.example.test/' })).toEqual({ mode: 'on', origin: 'https://ks.example.test', ttlMs: 30_000, timeoutMs: 3_000 });
    expect(reviewSettings({})).toMatchObject({ mode: 'off', why: expect.stringContaining('no CORE_ORIGIN') });
    expect(reviewSettings({ CORE_ORIGIN: 'https://x.test', TOKEN_REVIEW: 'off' })).toMatchObject({ mode: 'off' });
    expect(reviewSettings({ CORE_ORIGIN: 'https://x.test', TOKEN_REVIEW: 'stale-ok' })).toMatchObject({ mode: 'stale-ok' });
  });
  it('names the bad variable', () => {
    expect(reviewSettings({ TOKEN_REVIEW: 'yes' })).toMatchObject({ error: expect.stringContaining('TOKEN_REVIEW must be') });
    expect(reviewSettings({ TOKEN_REVIEW_SECONDS: '0' })).toMatchObject({ error: expect.stringContaining('TOKEN_REVIEW_SECONDS') });
    expect(reviewSettings({ TOKEN_REVIEW_TIMEOUT_MS: '2s' })).toMatchObject({ error: expect.stringContaining('TOKEN_REVIEW_TIMEOUT_MS') });
    expect(reviewSettings({ TOKEN_REVIEW: 'on' })).toMatchObject({ error: expect.stringContaining('needs CORE_ORIGIN') });
  });
});
