/**
 * Verifies a KubeSphere JWT: HS256 with JWT_SECRET, RS256/ES256 against JWKS_URL (keys cached; an unknown `kid`
 * refetches, so rotation is picked up). `exp` is required, `exp`/`nbf` are checked, `iss` must be JWT_ISSUER
 * (required with JWKS: an identity provider serves many applications) and `aud` JWT_AUDIENCE when set. The user is
 * `username`, else `sub`; a token with a `token_type` other than `access_token` (a refresh token) is refused.
 *
 * Verified tokens are remembered per isolate (at most 10,000, each until its `exp` but no longer than 60 s), so a
 * client's repeated requests cost a map look-up, not a signature check; the HS256 key is imported once.
 */
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import type { Env } from '../env';
import { authenticated, type Identity } from './identity';

export class TokenError extends Error {}

export const VERIFIED_MAX = 10_000;
const VERIFIED_TTL_MS = 60_000;
export const MIN_SECRET_BYTES = 32;
const verified = new Map<string, { verified: Verified; until: number; nbf: number; key: string }>();
const jwksByUrl = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
const hmacKeys = new Map<string, Promise<CryptoKey>>();

/** Why the key settings cannot verify anything, or undefined when they can: the worker then fails closed. */
export function keyConfigProblem(env: Pick<Env, 'JWT_SECRET' | 'JWKS_URL' | 'JWT_ISSUER'>): string | undefined {
  if (env.JWT_SECRET !== undefined && env.JWT_SECRET !== '' && new TextEncoder().encode(env.JWT_SECRET.trim()).byteLength < MIN_SECRET_BYTES) {
    return `JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes (not counting surrounding spaces)`;
  }
  if (env.JWKS_URL && !env.JWT_ISSUER) return 'JWKS_URL needs JWT_ISSUER: tokens of other applications of the same identity provider would be accepted';
  return undefined;
}

function jwks(env: Env): ReturnType<typeof createRemoteJWKSet> {
  const url = env.JWKS_URL!;
  let set = jwksByUrl.get(url);
  if (!set) {
    const maxAge = Number(env.JWKS_CACHE_SECONDS ?? '600') * 1000;
    // An unknown `kid` refetches at most once a second (a rotated key is picked up at once, not after the cache
    // age), so a flood of forged kids costs the identity provider one request a second per isolate.
    set = createRemoteJWKSet(new URL(url), { cacheMaxAge: maxAge, cooldownDuration: Math.min(1_000, maxAge) });
    jwksByUrl.set(url, set);
  }
  return set;
}

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = hmacKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
    hmacKeys.set(secret, key);
  }
  return key;
}

/** What a cached verification was made with: changed keys or claim checks invalidate it. */
const verifierOf = (env: Env) => [env.JWT_SECRET, env.JWKS_URL, env.JWT_ISSUER, env.JWT_AUDIENCE].map((x) => x ?? '').join('\n');

/** A verified token: who it is, and when it expires (ms), which bounds every verdict about it. */
export interface Verified { identity: Identity; exp: number }

export async function verifyToken(token: string, env: Env, now = Date.now()): Promise<Verified> {
  const hit = verified.get(token);
  if (hit && hit.until > now && hit.nbf <= now && hit.key === verifierOf(env)) return hit.verified;
  if (hit) verified.delete(token);

  let alg: string | undefined;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw new TokenError('malformed token');
  }
  const checks: JWTVerifyOptions = { requiredClaims: ['exp'], currentDate: new Date(now) };
  if (env.JWT_ISSUER) checks.issuer = env.JWT_ISSUER;
  if (env.JWT_AUDIENCE) checks.audience = env.JWT_AUDIENCE;
  let payload: JWTPayload;
  try {
    if (alg === 'HS256' && env.JWT_SECRET) {
      ({ payload } = await jwtVerify(token, await hmacKey(env.JWT_SECRET), { ...checks, algorithms: ['HS256'] }));
    } else if ((alg === 'RS256' || alg === 'ES256') && env.JWKS_URL) {
      ({ payload } = await jwtVerify(token, jwks(env), { ...checks, algorithms: ['RS256', 'ES256'] }));
    } else {
      throw new TokenError(`token algorithm ${JSON.stringify(alg)} is not accepted`);
    }
  } catch (e) {
    if (e instanceof TokenError) throw e;
    throw new TokenError(describe(e));
  }
  const type = payload['token_type'];
  if (type !== undefined && type !== 'access_token') throw new TokenError(`token_type ${JSON.stringify(type)} is not an access token`);
  const user = typeof payload['username'] === 'string' && payload['username'] ? payload['username'] : payload.sub;
  if (!user) throw new TokenError('token names no user (no "username" or "sub" claim)');
  // The user travels in X-Remote-User: a name no header can carry is refused, not a 500 later.
  if (/[^\x20-\x7e\xa0-\xff]/.test(user)) throw new TokenError('token names a user that cannot be carried in a header');
  const result: Verified = { identity: authenticated(user, payload.sub), exp: (payload.exp as number) * 1000 };
  remember(token, result, payload, env, now);
  return result;
}

function remember(token: string, result: Verified, payload: JWTPayload, env: Env, now: number): void {
  if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
  verified.set(token, { verified: result, until: Math.min(result.exp, now + VERIFIED_TTL_MS), nbf: typeof payload.nbf === 'number' ? payload.nbf * 1000 : 0, key: verifierOf(env) });
}

function describe(e: unknown): string {
  const code = (e as { code?: string }).code;
  switch (code) {
    case 'ERR_JWT_EXPIRED': return 'token has expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': return `token ${(e as Error).message}`;
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED': return 'token signature is invalid';
    case 'ERR_JWKS_NO_MATCHING_KEY': return 'no key in the JWKS matches the token';
    default: return `invalid token: ${(e as Error).message}`;
  }
}
