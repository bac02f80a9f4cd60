/**
 * The resilience annotations of SPEC §9, parsed at export time into per-route policy (checked by the worker
 * without parsing): `rate-limit`, `circuit-breaker`, `retries`, `redirect`. Each parser throws an Error whose
 * message says what is wrong; the exporter quotes the annotation with it and the resource is invalid.
 */
import * as v from 'valibot';
import { parseTemplate } from '../directives/template';
import { Template } from './template';

export const RateLimit = v.object({
  /** Requests per `periodMs`, sustained. */
  limit: v.number(),
  periodMs: v.number(),
  /** How many may arrive at once (the bucket's size); `limit` unless said. */
  burst: v.number(),
  /** What is counted together: the client address, the user, or the whole route. */
  key: v.picklist(['ip', 'user', 'route']),
});
export type RateLimit = v.InferOutput<typeof RateLimit>;

export const CircuitBreaker = v.object({ failures: v.number(), windowMs: v.number(), cooldownMs: v.number() });
export type CircuitBreaker = v.InferOutput<typeof CircuitBreaker>;

export const Redirect = v.object({
  status: v.picklist([301, 302, 303, 307, 308]),
  /** Scheme and authority, literal: a placeholder can never choose where a redirect goes. */
  origin: v.string(),
  /** Path (placeholders escaped as path segments; `{uri}`/`{path}` as sent) and optional query template. */
  path: Template,
  query: v.optional(Template),
});
export type Redirect = v.InferOutput<typeof Redirect>;

export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(n * unit);
}

/** `key=value;key=value` settings, each known key at most once. */
function settings(parts: string[], known: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of parts.map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new Error(`${JSON.stringify(part)} is not key=value`);
    const k = part.slice(0, eq).trim();
    if (!known.includes(k)) throw new Error(`unknown setting ${JSON.stringify(k)} (expected ${known.join(', ')})`);
    if (out.has(k)) throw new Error(`${k} is given twice`);
    out.set(k, part.slice(eq + 1).trim());
  }
  return out;
}

const positiveInt = (what: string, s: string, max: number) => {
  if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > max) throw new Error(`${what} must be a whole number from 1 to ${max}, got ${JSON.stringify(s)}`);
  return Number(s);
};

const duration = (what: string, s: string, maxMs: number) => {
  const ms = parseDuration(s);
  if (ms === undefined || ms <= 0 || ms > maxMs) throw new Error(`${what} must be a duration such as "30s" (at most ${maxMs / 1000}s), got ${JSON.stringify(s)}`);
  return ms;
};

/** `N/PERIOD[;key=ip|user|route][;burst=B]`: PERIOD a duration (`60s`) or a unit (`s`, `m`, `h`). */
export function parseRateLimit(text: string): RateLimit {
  const [rate = '', ...rest] = text.split(';');
  const m = /^\s*(\d+)\s*\/\s*(\S+)\s*$/.exec(rate);
  if (!m) throw new Error('expected "N/PERIOD" such as "100/60s" (then ";key=ip|user|route" and ";burst=B")');
  const limit = positiveInt('N', m[1]!, 1_000_000_000);
  const unit = m[2]!;
  const periodMs = /^(s|m|h)$/.test(unit) ? duration('PERIOD', `1${unit}`, 86_400_000) : duration('PERIOD', unit, 86_400_000);
  const s = settings(rest, ['key', 'burst']);
  const key = s.get('key') ?? 'ip';
  if (key !== 'ip' && key !== 'user' && key !== 'route') throw new Error(`key must be ip, user or route, got ${JSON.stringify(key)}`);
  const burst = s.has('burst') ? positiveInt('burst', s.get('burst')!, 1_000_000_000) : limit;
  return { limit, periodMs, burst, key };
}

/** `failures=5;window=30s;cooldown=30s` (each optional: 5, 30s, 30s). */
export function parseCircuitBreaker(text: string): CircuitBreaker {
  const s = settings(text.split(';'), ['failures', 'window', 'cooldown']);
  return {
    failures: s.has('failures') ? positiveInt('failures', s.get('failures')!, 10_000) : 5,
    windowMs: s.has('window') ? duration('window', s.get('window')!, 3_600_000) : 30_000,
    cooldownMs: s.has('cooldown') ? duration('cooldown', s.get('cooldown')!, 3_600_000) : 30_000,
  };
}

/** `"2"`: up to this many retries (at most 5). */
export function parseRetries(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) > 5) throw new Error(`expected a whole number from 0 to 5, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** `STATUS URL`: a 3xx and an absolute http(s) URL whose scheme and host are literal; placeholders after them. */
export function parseRedirect(text: string): Redirect {
  const m = /^\s*(\d{3})\s+(\S+)\s*$/.exec(text);
  if (!m) throw new Error('expected "STATUS URL" such as "301 https://new.example.com{uri}"');
  const status = Number(m[1]);
  if (![301, 302, 303, 307, 308].includes(status)) throw new Error(`status must be 301, 302, 303, 307 or 308, got ${status}`);
  const url = m[2]!;
  const at = /^https?:\/\/[^/?#{}]+/i.exec(url);
  if (!at) throw new Error(`the URL must start with http:// or https:// and a literal host, got ${JSON.stringify(url)}`);
  let origin: string;
  try {
    const parsed = new URL(at[0]);
    if (parsed.username || parsed.password || `${parsed.protocol}//${parsed.host}`.toLowerCase() !== at[0].toLowerCase()) throw new Error('not an origin');
    origin = parsed.origin;
  } catch {
    throw new Error(`${JSON.stringify(at[0])} is not a scheme and host`);
  }
  const rest = url.slice(at[0].length);
  if (rest !== '' && !rest.startsWith('/') && !rest.startsWith('?') && !rest.startsWith('{')) throw new Error('the host must be followed by "/", "?" or a placeholder such as {uri}');
  const q = rest.indexOf('?');
  const path = parseTemplate(q < 0 ? rest : rest.slice(0, q));
  return q < 0 ? { status: status as Redirect['status'], origin, path } : { status: status as Redirect['status'], origin, path, query: parseTemplate(rest.slice(q + 1)) };
}
