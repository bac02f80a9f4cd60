/** The gateway's own endpoints: `/_gateway/healthz` (liveness with a snapshot) and `/_gateway/status`. */
import type { Handler } from 'hono';
import { authMode, authzMode } from '../auth/identity';
import { authorize } from '../authz/guard';
import type { AppEnv } from '../env';
import { circuitStats, knownCircuits } from '../limits/circuits';
import { limitStats } from '../limits/rate-limit';
import type { RouteTable } from '../route-table';
import { redactUrl } from '../redact';
import { snapshotStore } from '../snapshot/store';

export const healthz: Handler<AppEnv> = (c) => {
  const table = c.get('table');
  if (!table) return c.json({ status: 'no snapshot', error: snapshotStore.state.lastError ?? null }, 503);
  return c.json({ status: 'ok', snapshot: table.hash });
};

/**
 * Names every route and upstream, so it is authorized as the non-resource request `GET /_gateway/status`
 * (platform admins have it); with AUTHZ=none it needs an authenticated user.
 */
export const status: Handler<AppEnv> = async (c) => {
  const refused = authorize(c, false);
  if (refused) return refused;
  const mode = authMode(c.env);
  const { table, pointer, loadedAt, lastError, kvReads, backgroundKvReads } = snapshotStore.state;
  const generated = pointer ? Date.parse(pointer.generatedAt) : NaN;
  return c.json({
    auth: mode === 'off'
      ? { mode, warning: 'authentication is OFF (AUTH=none): every caller is anonymous and every route admits anonymous users' }
      : { mode, hs256: Boolean(c.env.JWT_SECRET), jwks: c.env.JWKS_URL ? redactUrl(c.env.JWKS_URL) : null, authorization: authzMode(c.env) },
    authorization: authzSummary(table),
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
    circuits: await circuitStates(c.env, table),
    limits: { rateLimiterUnreachable: limitStats.unreachable, rateLimited: limitStats.refused, ...circuitStats },
    resources: table?.snapshot.resources ?? [],
  });
};

/** What authorization decides with: counts of the published data, or why there is none. */
function authzSummary(table: RouteTable | undefined) {
  const data = table?.snapshot.authz;
  if (!data) return { published: false, warning: 'no authorization data in the snapshot: with AUTHZ=kubesphere only always-allowed paths and public routes are reachable' };
  const count = (r: Record<string, unknown[]>) => Object.values(r).reduce((n, l) => n + l.length, 0);
  return {
    published: true,
    roles: data.roles.length,
    bindings: data.globalRoleBindings.length + data.clusterRoleBindings.length + count(data.workspaceRoleBindings) + count(data.roleBindings),
    users: Object.keys(data.users).length,
    namespaces: Object.keys(data.namespaceWorkspaces).length,
  };
}

/** Every route's circuit as its Durable Object holds it (the status page may make remote calls; requests do not). */
async function circuitStates(env: AppEnv['Bindings'], table: RouteTable | undefined) {
  const routes = [
    ...(table?.snapshot.apiServices ?? []).map((r) => ({ id: `apiService/${r.name}`, rule: r.policy.circuitBreaker })),
    ...(table?.snapshot.reverseProxies ?? []).map((r) => ({ id: `reverseProxy/${r.name}`, rule: r.policy.circuitBreaker })),
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
