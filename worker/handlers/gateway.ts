/** The gateway's own endpoints: `/_gateway/healthz` (liveness with a snapshot) and `/_gateway/status`. */
import type { Handler } from 'hono';
import { authMode } from '../auth/identity';
import { unauthorized } from '../auth/middleware';
import type { AppEnv } from '../env';
import { snapshotStore } from '../snapshot/store';

export const healthz: Handler<AppEnv> = (c) => {
  const table = c.get('table');
  if (!table) return c.json({ status: 'no snapshot', error: snapshotStore.state.lastError ?? null }, 503);
  return c.json({ status: 'ok', snapshot: table.hash });
};

/** Names every route and upstream, so only an authenticated user may read it (unless authentication is off). */
export const status: Handler<AppEnv> = (c) => {
  const mode = authMode(c.env);
  if (mode === 'jwt' && c.get('identity').anonymous) return unauthorized('the status page requires an authenticated user');
  const { table, pointer, loadedAt, lastError, kvReads, backgroundKvReads } = snapshotStore.state;
  const generated = pointer ? Date.parse(pointer.generatedAt) : NaN;
  return c.json({
    auth: mode === 'off'
      ? { mode, warning: 'authentication is OFF (AUTH=none): every caller is anonymous and every route admits anonymous users' }
      : { mode, hs256: Boolean(c.env.JWT_SECRET), jwks: c.env.JWKS_URL ?? null },
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
