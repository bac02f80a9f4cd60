/**
 * Token review: whether ks-apiserver still stands behind a token the edge has verified. KubeSphere keeps every
 * token it issues in its token cache and checks it on every request (`pkg/models/auth/token.go`,
 * `tokenOperator.Verify` → `tokenCacheValidate`); a logout, a password change, a deletion or a revocation removes
 * it. The edge asks `GET {CORE_ORIGIN}/oauth/userinfo` with the token (`pkg/kapis/oauth/handler.go`, `userinfo`):
 * that handler runs only once ks-apiserver's authentication filter has accepted the token
 * (`pkg/apiserver/filters/authentication.go` over `authenticators/jwt/jwt.go` `AuthenticateToken`: signature,
 * expiry, the token cache, and on the host the User's existence and state).
 *
 * Per isolate: a verdict is kept for at most REVIEWS_MAX tokens, a passed review for TOKEN_REVIEW_SECONDS and never
 * past the token's `exp`, a refusal of the token itself for its remaining life (other refusals for one TTL). Concurrent first uses of a token share one
 * review; a token in steady use is reviewed again in the background before its review ages out, so warm requests
 * never wait for one.
 */
import type { ReviewSettings } from './review-settings';

export const REVIEWS_MAX = 10_000;
/** Past this share of the TTL, a request that finds the review still fresh starts the next one in the background. */
const REFRESH_AT = 0.75;

/** What ks-apiserver's answer says: the token stands, KubeSphere refuses it (its message), or no verdict. */
export type Verdict = { stands: true } | { refused: string } | { fault: string };

export type Confirmation =
  | { ok: true; how: 'cached' | 'reviewed' | 'stale' }
  | { ok: false; status: 401 | 503; message: string };

interface Entry { user: string; exp: number; passedAt?: number; refused?: string; refusedUntil?: number }

/**
 * KubeSphere's refusals of the token itself (gone from its token cache, expired, a bad signature) stand for the
 * token's life; others (`account is not active`, a User not found, its token cache failing) may change, so they
 * are asked again after one TTL.
 */
const forLife = (message: string) => message === 'token not found in cache' || message.startsWith('jwt: ') || /signature/i.test(message);

const reviews = new Map<string, Entry>();
const inflight = new Map<string, Promise<Verdict>>();

export const reviewStats = { asked: 0, refused: 0, faults: 0 };
export const reviewsHeld = () => reviews.size;

type Active = Extract<ReviewSettings, { origin: string }>;
const CACHED: Confirmation = { ok: true, how: 'cached' };

/**
 * The verdict for a verified token of `user` expiring at `exp` (ms): synchronous while a review is fresh, else
 * a promise of the review. `background` keeps a refresh alive past the request (the runtime's waitUntil).
 */
export function confirmToken(
  token: string, user: string, exp: number, s: Active, background: (p: Promise<unknown>) => void, now = Date.now(),
): Confirmation | Promise<Confirmation> {
  const e = reviews.get(token);
  if (e && e.user === user && now < e.exp) {
    if (e.refused !== undefined && now < (e.refusedUntil ?? e.exp)) return { ok: false, status: 401, message: e.refused };
    const age = now - (e.passedAt ?? -Infinity);
    if (age < s.ttlMs) {
      if (age >= s.ttlMs * REFRESH_AT && !inflight.has(token)) background(review(token, user, exp, s).catch(() => undefined));
      return CACHED;
    }
  }
  return review(token, user, exp, s).then((v) => conclude(v, token, s, Date.now()));
}

function conclude(v: Verdict, token: string, s: Active, now: number): Confirmation {
  if ('stands' in v) return { ok: true, how: 'reviewed' };
  if ('refused' in v) return { ok: false, status: 401, message: v.refused };
  const e = reviews.get(token);
  // stale-ok: a review that passed serves for at most one more TTL, and never past exp.
  if (s.mode === 'stale-ok' && e?.passedAt !== undefined && now - e.passedAt < 2 * s.ttlMs && now < e.exp) return { ok: true, how: 'stale' };
  return { ok: false, status: 503, message: `the token could not be reviewed: ${v.fault}` };
}

/** One review per token at a time, whoever asks; its verdict is recorded when it arrives. */
function review(token: string, user: string, exp: number, s: Active): Promise<Verdict> {
  let p = inflight.get(token);
  if (!p) {
    p = ask(token, user, s)
      .then((v) => {
        record(token, user, exp, v, Date.now(), s.ttlMs);
        return v;
      })
      .finally(() => inflight.delete(token));
    inflight.set(token, p);
  }
  return p;
}

function record(token: string, user: string, exp: number, v: Verdict, now: number, ttlMs: number): void {
  if ('fault' in v) {
    reviewStats.faults++;
    return; // no verdict: what was known stays (stale-ok reads it)
  }
  if ('refused' in v) reviewStats.refused++;
  reviews.delete(token);
  if (reviews.size >= REVIEWS_MAX) reviews.delete(reviews.keys().next().value!);
  reviews.set(token, 'stands' in v ? { user, exp, passedAt: now }
    : { user, exp, refused: v.refused, ...(forLife(v.refused) ? {} : { refusedUntil: now + ttlMs }) });
}

async function ask(token: string, user: string, s: Active): Promise<Verdict> {
  reviewStats.asked++;
  const signal = AbortSignal.timeout(s.timeoutMs);
  try {
    const res = await fetch(`${s.origin}/oauth/userinfo`, {
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
      redirect: 'manual',
      signal,
    });
    return verdictOf(res.status, await res.text(), user);
  } catch (e) {
    if (signal.aborted) return { fault: `ks-apiserver did not answer within TOKEN_REVIEW_TIMEOUT_MS (${s.timeoutMs} ms)` };
    return { fault: `CORE_ORIGIN could not be reached (${(e as Error).message})` };
  }
}

/**
 * Reads ks-apiserver's answer to `GET /oauth/userinfo`:
 * - 200, the claims of `userinfo` (`sub` is the user the token authenticated as): stands, when it names `user`;
 * - 401 with a Kubernetes `Status` (the authentication filter's `apierrors.NewUnauthorized(err)`): refused, with
 *   KubeSphere's message (`token not found in cache`, `account is not active`, …);
 * - 500 with OAuth's `server_error` (`userinfo` could not describe the user, as for a service account): the handler
 *   ran, so authentication accepted the token: stands;
 * - anything else, including userinfo's own 401 `"login_required"` (the core saw no token: something between removed
 *   the header): no verdict.
 */
export function verdictOf(status: number, body: string, user: string): Verdict {
  const json = parse(body);
  if (status === 200) {
    const sub = isObject(json) ? json['sub'] : undefined;
    if (typeof sub !== 'string') return { fault: 'ks-apiserver answered 200 without the claims of /oauth/userinfo' };
    return sub === user ? { stands: true } : { fault: `ks-apiserver's review named another user (${JSON.stringify(sub)})` };
  }
  if (status === 401) {
    if (isObject(json) && json['kind'] === 'Status' && typeof json['message'] === 'string') return { refused: json['message'] };
    if (json === 'login_required') return { fault: 'ks-apiserver received the review without its Authorization header' };
    return { fault: 'CORE_ORIGIN answered 401 without a Kubernetes Status' };
  }
  if (status === 500 && isObject(json) && json['error'] === 'server_error') return { stands: true };
  return { fault: `ks-apiserver answered the review with HTTP ${status}` };
}

function parse(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Forgets every verdict (tests). */
export function forgetReviews(): void {
  reviews.clear();
  inflight.clear();
}
