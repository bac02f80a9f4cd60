/**
 * `ks-edge.io/circuit-breaker` at request time. Each isolate remembers the circuits it has seen:
 *
 * - closed (or never seen): the request goes on with no remote call; the isolate refreshes its view of the
 *   circuit in the background at most once a second while it serves the route, so a circuit another isolate
 *   opened is seen here too;
 * - open: 503 at once, without touching the upstream, until the cooldown ends;
 * - past the cooldown: the circuit object hands out one probe; everyone else keeps getting 503 until the probe's
 *   outcome closes the circuit or opens it again.
 *
 * Outcomes are reported in the background: failures always (connection errors, 5xx, timeouts), successes only
 * when the circuit was not known closed. If the object cannot be reached, requests go on (fail open): a broken
 * breaker must not take a healthy upstream down.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../env';
import { proxyError } from '../errors';
import type { CircuitBreaker } from '../model/resilience';
import type { CircuitView } from './circuit-rule';

interface Known { view: CircuitView; syncedAt: number }

const SYNC_MS = 1000;
const known = new Map<string, Known>();
/** Circuits one isolate keeps a view of: every route of the snapshots it holds, in practice; the oldest go first. */
export const MAX_KNOWN_CIRCUITS = 10_000;

function remember(routeId: string, k: Known): void {
  if (!known.has(routeId) && known.size >= MAX_KNOWN_CIRCUITS) known.delete(known.keys().next().value!);
  known.set(routeId, k);
}
export const circuitStats = { unreachable: 0, shortCircuited: 0 };

/** What this isolate knows of every circuit it has seen (for the status page). */
export const knownCircuits = (): ReadonlyMap<string, Known> => known;

export type Gate = { refused: Response } | { probe: boolean } | undefined;

export async function circuitGate(c: Context<AppEnv>, routeId: string, rule: CircuitBreaker | undefined, now = Date.now()): Promise<Gate> {
  if (!rule || !c.env.CIRCUIT_BREAKER) return undefined;
  const k = known.get(routeId);
  if (!k || k.view.state === 'closed') {
    if (!k || now - k.syncedAt >= SYNC_MS) c.executionCtx.waitUntil(sync(c, routeId, rule, now));
    return undefined;
  }
  if (k.view.state === 'open' && now < k.view.until) return shortCircuit(routeId, k.view.until, now);
  let view: CircuitView;
  try {
    view = await stub(c, routeId).acquire(rule, now);
  } catch (e) {
    circuitStats.unreachable++;
    console.error(`ks-edge: circuit breaker unreachable for ${routeId}, letting the request through: ${(e as Error).message}`);
    return undefined;
  }
  remember(routeId, { view, syncedAt: now });
  if (view.state === 'closed') return undefined;
  if (view.probe) return { probe: true };
  return shortCircuit(routeId, view.until, now);
}

/** Records an upstream outcome: failures always, successes when the circuit was not known closed. */
export function circuitRecord(c: Context<AppEnv>, routeId: string, rule: CircuitBreaker | undefined, failed: boolean, probe: boolean): void {
  if (!rule || !c.env.CIRCUIT_BREAKER) return;
  if (!failed && !probe && (known.get(routeId)?.view.state ?? 'closed') === 'closed') return;
  c.executionCtx.waitUntil((async () => {
    try {
      remember(routeId, { view: await stub(c, routeId).report(rule, !failed, Date.now(), probe), syncedAt: Date.now() });
    } catch {
      circuitStats.unreachable++;
    }
  })());
}

async function sync(c: Context<AppEnv>, routeId: string, rule: CircuitBreaker, now: number): Promise<void> {
  remember(routeId, { view: known.get(routeId)?.view ?? { state: 'closed', until: 0, failures: 0 }, syncedAt: now });
  try {
    const view = await stub(c, routeId).view(rule);
    remember(routeId, { view: view.state === 'half-open' ? { ...view, state: 'open' } : view, syncedAt: now });
  } catch {
    circuitStats.unreachable++;
  }
}

function shortCircuit(routeId: string, until: number, now: number): Gate {
  circuitStats.shortCircuited++;
  const seconds = Math.max(1, Math.ceil((until - now) / 1000));
  const res = proxyError(503, `${routeId}: the circuit is open after repeated upstream failures; retry in ${seconds}s`);
  res.headers.set('Retry-After', String(seconds));
  return { refused: res };
}

const stub = (c: Context<AppEnv>, routeId: string) => c.env.CIRCUIT_BREAKER!.get(c.env.CIRCUIT_BREAKER!.idFromName(routeId));

/** The outcomes that count as failures: no response, or a 5xx (504 included). */
export const isFailure = (status: number | undefined) => status === undefined || status >= 500;
