/**
 * Token review's settings (docs: Authentication): read from the environment once per set of values, typed, with
 * one error that names the bad variable (the worker then fails closed, as with the key settings).
 */
import type { Env } from '../env';

/** `on`: fail closed when the core does not answer; `stale-ok`: a passed review serves one more TTL instead. */
export type ReviewMode = 'on' | 'off' | 'stale-ok';

export type ReviewSettings =
  | { mode: 'on' | 'stale-ok'; origin: string; ttlMs: number; timeoutMs: number }
  | { mode: 'off'; why: string }
  | { error: string };

export const DEFAULT_REVIEW_SECONDS = 30;
export const DEFAULT_REVIEW_TIMEOUT_MS = 3_000;

type ReviewEnv = Pick<Env, 'TOKEN_REVIEW' | 'TOKEN_REVIEW_SECONDS' | 'TOKEN_REVIEW_TIMEOUT_MS' | 'CORE_ORIGIN'>;

let cached: { of: string; settings: ReviewSettings } | undefined;

export function reviewSettings(env: ReviewEnv): ReviewSettings {
  const of = `${env.TOKEN_REVIEW ?? ''}\n${env.TOKEN_REVIEW_SECONDS ?? ''}\n${env.TOKEN_REVIEW_TIMEOUT_MS ?? ''}\n${env.CORE_ORIGIN ?? ''}`;
  if (cached?.of !== of) cached = { of, settings: read(env) };
  return cached.settings;
}

function read(env: ReviewEnv): ReviewSettings {
  const mode = env.TOKEN_REVIEW === undefined || env.TOKEN_REVIEW === '' ? undefined : env.TOKEN_REVIEW;
  if (mode !== undefined && mode !== 'on' && mode !== 'off' && mode !== 'stale-ok') {
    return { error: `TOKEN_REVIEW must be "on", "off" or "stale-ok", got ${JSON.stringify(mode)}` };
  }
  const seconds = whole(env.TOKEN_REVIEW_SECONDS, DEFAULT_REVIEW_SECONDS, 1, 3600);
  if (seconds === undefined) return { error: `TOKEN_REVIEW_SECONDS must be a whole number of seconds from 1 to 3600, got ${JSON.stringify(env.TOKEN_REVIEW_SECONDS)}` };
  const timeoutMs = whole(env.TOKEN_REVIEW_TIMEOUT_MS, DEFAULT_REVIEW_TIMEOUT_MS, 100, 60_000);
  if (timeoutMs === undefined) return { error: `TOKEN_REVIEW_TIMEOUT_MS must be a whole number of milliseconds from 100 to 60000, got ${JSON.stringify(env.TOKEN_REVIEW_TIMEOUT_MS)}` };
  if (mode === 'off') return { mode: 'off', why: 'TOKEN_REVIEW=off: revoked tokens stay valid at the edge until their exp' };
  const origin = env.CORE_ORIGIN?.replace(/\/+$/, '');
  if (!origin) {
    // Asked for explicitly, review without a core to ask is a setting that cannot work: fail closed.
    if (mode !== undefined) return { error: `TOKEN_REVIEW=${mode} needs CORE_ORIGIN, the ks-apiserver that reviews tokens` };
    return { mode: 'off', why: 'no CORE_ORIGIN: there is no ks-apiserver to ask, so revoked tokens stay valid until their exp' };
  }
  return { mode: mode ?? 'on', origin, ttlMs: seconds * 1000, timeoutMs };
}

function whole(text: string | undefined, fallback: number, min: number, max: number): number | undefined {
  if (text === undefined || text === '') return fallback;
  if (!/^\d+$/.test(text.trim())) return undefined;
  const n = Number(text.trim());
  return n >= min && n <= max ? n : undefined;
}
