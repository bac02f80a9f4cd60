/**
 * Before any snapshot has loaded, extension routes cannot be told apart from missing ones: bundle and APIService
 * paths answer 503 with the reason, and everything else still reaches CORE_ORIGIN.
 */
import type { Step } from './step';
import { proxyError } from '../errors';
import { apiGroupVersionOf, bundleLinkOf } from '../route-table';
import { fleet } from '../fleet/fleet';

export const noSnapshot: Step = (c) => {
  if (c.get('table')) return undefined;
  const path = c.get('url').pathname;
  if (bundleLinkOf(path) === undefined && apiGroupVersionOf(path) === undefined) return undefined;
  return proxyError(503, `no routing snapshot is loaded: ${fleet.host(c.env).state.lastError ?? 'not loaded yet'}`);
};
