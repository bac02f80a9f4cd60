/** The gateway's own endpoints: `/_gateway/healthz` (liveness with a snapshot) and `/_gateway/status`. */
import type { Handler } from 'hono';
import { authMode, authzMode } from '../auth/identity';
import { authorize } from '../authz/guard';
import type { AppEnv } from '../env';
import type { RouteTable } from '../route-table';
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
export const status: Handler<AppEnv> = (c) => {
  const refused = authorize(c, false);
  if (refused) return refused;
  const mode = authMode(c.env);
  const { table, pointer, loadedAt, lastError, kvReads, backgroundKvReads } = snapshotStore.state;
  const generated = pointer ? Date.parse(pointer.generatedAt) : NaN;
  return c.json({
    auth: mode === 'off'
      ? { mode, warning: 'authentication is OFF (AUTH=none): every caller is anonymous and every route admits anonymous users' }
      : { mode, hs256: Boolean(c.env.JWT_SECRET), jwks: c.env.JWKS_URL ?? null, authorization: authzMode(c.env) },
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
