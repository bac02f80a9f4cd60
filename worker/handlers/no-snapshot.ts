/**
 * Before any snapshot has loaded, extension routes cannot be told apart from missing ones: bundle and APIService
 * paths answer 503 with the reason, and everything else still reaches CORE_ORIGIN.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { proxyError } from '../errors';
import { apiGroupVersionOf, bundleLinkOf } from '../route-table';
import { snapshotStore } from '../snapshot/store';

export const noSnapshot: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.get('table')) return next();
  const path = new URL(c.req.url).pathname;
  if (bundleLinkOf(path) === undefined && apiGroupVersionOf(path) === undefined) return next();
  return proxyError(503, `no routing snapshot is loaded: ${snapshotStore.state.lastError ?? 'not loaded yet'}`);
};
