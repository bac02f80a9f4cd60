/** The gateway's own endpoints: `/_gateway/healthz` (liveness with a snapshot) and `/_gateway/status`. */
import type { Handler } from 'hono';
import { authMode, authzMode } from '../auth/identity';
import { reviewGate } from '../auth/review-gate';
import { reviewSettings } from '../auth/review-settings';
import { REVIEWS_MAX, reviewsHeld, reviewStats } from '../auth/token-review';
import { authorize } from '../authz/guard';
import { authzCounts } from '../model/authz';
import type { AppEnv } from '../env';
import { circuitStats, knownCircuits } from '../limits/circuits';
import { routeId } from '../limits/route-guard';
import { limitStats } from '../limits/rate-limit';
import { pointerKey, type Policy, type Snapshot } from '../model/snapshot';
import { cacheAvailable, cacheStats } from '../cache/edge-cache';
import type { RouteTable } from '../route-table';
import { loaded } from '../snapshot/lazy-part';
import { redactUrl } from '../redact';
import { fleet, hostCluster } from '../fleet/fleet';

export const healthz: Handler<AppEnv> = async (c) => {
  c.get('trace').route = { kind: 'gateway', name: 'healthz' };
  const refused = await reviewGate(c);
  if (refused) return refused;
  const table = c.get('table');
  if (!table) return c.json({ status: 'no snapshot', error: fleet.host(c.env).state.lastError ?? null }, 503);
  return c.json({ status: 'ok', snapshot: table.hash });
};

/**
 * Names every route and upstream, so it is authorized as the non-resource request `GET /_gateway/status`
 * (platform admins have it); with AUTHZ=none it needs an authenticated user.
 */
export const status: Handler<AppEnv> = async (c) => {
  c.get('trace').route = { kind: 'gateway', name: 'status' };
  const refused = await authorize(c, false);
  if (refused) return refused;
  const mode = authMode(c.env);
  const state = fleet.host(c.env).state;
  // Every part of the snapshot is read for this page (the routes and reports it lists).
  const snapshot = await state.table?.snapshot();
  const { table, pointer, loadedAt, lastError, kvReads, backgroundKvReads } = state;
  const circuits = await circuitStates(c.env, snapshot, hostCluster(c.env));
  const generated = pointer ? Date.parse(pointer.generatedAt) : NaN;
  return c.json({
    auth: mode === 'off'
      ? { mode, warning: 'authentication is OFF (AUTH=none): every caller is anonymous and every route admits anonymous users' }
      : { mode, hs256: Boolean(c.env.JWT_SECRET), jwks: c.env.JWKS_URL ? redactUrl(c.env.JWKS_URL) : null, authorization: authzMode(c.env), tokenReview: tokenReviewState(c.env) },
    authorization: authzSummary(snapshot),
    snapshot: table
      ? {
          hash: table.hash,
          generatedAt: pointer?.generatedAt ?? null,
          ageSeconds: Number.isNaN(generated) ? null : Math.round((Date.now() - generated) / 1000),
          cluster: pointer?.cluster ?? null,
          loadedAt: loadedAt ? new Date(loadedAt).toISOString() : null,
          counts: pointer?.counts ?? {},
        }
      : null,
    lastError: lastError ?? null,
    kvReads,
    backgroundKvReads,
    clusters: await clusterStates(c.env, c.executionCtx),
    circuits,
    edgeCache: { ...(await cacheAvailable(new URL(c.req.url).origin)), hits: cacheStats.hits, misses: cacheStats.misses, bypasses: cacheStats.bypasses, stores: cacheStats.stores, errors: cacheStats.errors, lastError: cacheStats.lastError ?? null },
    limits: { rateLimiterUnreachable: limitStats.unreachable, rateLimited: limitStats.refused, ...circuitStats },
    resources: withRoutes(snapshot, circuits, hostCluster(c.env)),
  });
};

/** Whether ks-apiserver reviews tokens, how, and what this isolate holds. */
function tokenReviewState(env: AppEnv['Bindings']) {
  const s = reviewSettings(env);
  if (!('origin' in s)) return { mode: 'off', warning: 'error' in s ? s.error : s.why };
  return { mode: s.mode, core: redactUrl(s.origin), ttlSeconds: s.ttlMs / 1000, timeoutMs: s.timeoutMs, tokensHeld: reviewsHeld(), bound: REVIEWS_MAX, ...reviewStats };
}

/** What authorization decides with: counts of the published data, or why there is none. */
function authzSummary(snapshot: Snapshot | undefined) {
  const data = snapshot?.authz;
  if (!data) return { published: false, warning: 'no authorization data in the snapshot: with AUTHZ=kubesphere only always-allowed paths and public routes are reachable' };
  return { published: true, ...authzCounts(data) };
}

/** Every route's circuit as its Durable Object holds it (the status page may make remote calls; requests do not). */
async function circuitStates(env: AppEnv['Bindings'], snapshot: Snapshot | undefined, cluster: string) {
  const routes = [
    ...(snapshot?.apiServices ?? []).map((r) => ({ id: routeId(cluster, 'apiService', r.name), rule: r.policy.circuitBreaker })),
    ...(snapshot?.reverseProxies ?? []).map((r) => ({ id: routeId(cluster, 'reverseProxy', r.name), rule: r.policy.circuitBreaker })),
  ].filter((r) => r.rule);
  const ns = env.CIRCUIT_BREAKER;
  return Promise.all(routes.map(async ({ id, rule }) => {
    if (!ns) return { route: id, state: 'unknown', error: 'no CIRCUIT_BREAKER binding' };
    try {
      const v = await ns.get(ns.idFromName(id)).view(rule!);
      return {
        route: id, state: v.state, failures: v.failures, openUntil: v.state === 'closed' ? null : new Date(v.until).toISOString(),
        seenByThisIsolate: knownCircuits().get(id)?.view.state ?? null,
      };
    } catch (e) {
      return { route: id, state: 'unknown', error: (e as Error).message };
    }
  }));
}

/**
 * Every cluster of the fleet: the host, and each member with a pointer in KV (hash, age, counts), with the
 * resources of those whose snapshot this isolate holds.
 */
async function clusterStates(env: AppEnv['Bindings'], ctx: { waitUntil(p: Promise<unknown>): void }) {
  const host = hostCluster(env);
  const names = new Set([host, ...(await fleet.clusters(env, ctx))]);
  return Promise.all([...names].sort().map(async (name) => {
    const store = name === host ? fleet.host(env) : fleet.loaded().get(name);
    let pointer = store?.state.pointer;
    if (!pointer) {
      const raw = await env.KV.get(pointerKey(name), 'text').catch(() => null);
      try {
        pointer = raw ? (JSON.parse(raw) as typeof pointer) : undefined;
      } catch { /* shown as unknown */ }
    }
    const generated = pointer ? Date.parse(pointer.generatedAt) : NaN;
    return {
      name, host: name === host, loadedHere: Boolean(store?.state.table),
      snapshot: pointer?.snapshot ?? null, generatedAt: pointer?.generatedAt ?? null,
      ageSeconds: Number.isNaN(generated) ? null : Math.round((Date.now() - generated) / 1000),
      counts: pointer?.counts ?? {}, lastError: store?.state.lastError ?? null,
      resources: await resourcesOf(store?.state.table),
    };
  }));
}

/** A cluster's resource reports: that part alone, not the whole snapshot. */
function resourcesOf(table: RouteTable | undefined) {
  return table ? loaded(() => table.parts.resources.all()) : [];
}

/** Each resource with what an operator looks for next to it: its upstream (credentials redacted), health, circuit. */
function withRoutes(snapshot: Snapshot | undefined, circuits: { route: string; state: string }[], cluster: string) {
  const routes = new Map<string, { available: boolean; policy: Policy; upstream?: { origin: string; cluster?: { name: string; namespace: string } } }>();
  for (const r of snapshot?.apiServices ?? []) routes.set(`APIService/${r.name}`, r);
  for (const r of snapshot?.reverseProxies ?? []) routes.set(`ReverseProxy/${r.name}`, r);
  return (snapshot?.resources ?? []).map((r) => {
    const route = routes.get(`${r.kind}/${r.name}`);
    const kind = r.kind === 'APIService' ? 'apiService' : r.kind === 'ReverseProxy' ? 'reverseProxy' : undefined;
    const up = route?.upstream;
    return {
      ...r,
      upstream: up ? (up.cluster ? `${redactUrl(up.origin)} (in-cluster: Service ${up.cluster.namespace}/${up.cluster.name})` : redactUrl(up.origin)) : null,
      health: r.warnings.find((w) => w.startsWith('unhealthy: ')) ?? (!kind || !route ? null : (route as { available?: boolean }).available ? 'ok' : 'unavailable'),
      circuit: kind ? circuits.find((c) => c.route === routeId(cluster, kind, r.name))?.state ?? null : null,
      cache: route?.policy.cache ? { ttlSeconds: route.policy.cache.ttlMs / 1000, key: route.policy.cache.key } : null,
    };
  });
}
