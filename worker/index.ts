/**
 * ks-edge worker. The whole request path is this chain:
 *
 *   trace (request id, W3C trace context, Server-Timing, a log line per REQUEST_LOG) → prepare (fail closed without auth config · the cluster and
 *   its snapshot · client) → authenticate
 *     → /_gateway/*  |  noSnapshot → jsBundle → reverseProxy → apiService → core
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { authConfigMissing, authenticate } from './auth/middleware';
import type { AppEnv } from './env';
import { kubeStatus, notFound, proxyError } from './errors';
import { apiService } from './handlers/api-service';
import { core } from './handlers/core';
import { explain } from './handlers/explain';
import { healthz, status } from './handlers/gateway';
import { statusPage } from './handlers/status-page';
import { jsBundle } from './handlers/js-bundle';
import { noSnapshot } from './handlers/no-snapshot';
import { reverseProxy } from './handlers/reverse-proxy';
import { firstAnswer } from './handlers/step';
import { clusterRoute } from './fleet/cluster-route';
import { logConfigMissing } from './observe/log-policy';
import { trace } from './observe/trace';
import { checkAfterAnswer, SnapshotPartError, SnapshotReadError } from './snapshot/lazy-part';

/** What every request needs before authentication; one middleware, as each costs a promise per request. */
const prepare: MiddlewareHandler<AppEnv> = async (c, next) => {
  const refused = authConfigMissing(c.env) ?? logConfigMissing(c.env);
  if (refused) return refused;
  const url = new URL(c.req.url);
  const route = await clusterRoute(c.env, c.executionCtx, url);
  c.set('table', route.table);
  c.set('url', route.url);
  c.set('requestUrl', url);
  c.set('cluster', route.cluster);
  c.set('isHost', route.isHost);
  c.set('clientIp', c.req.header('cf-connecting-ip'));
  await next();
  // A cold isolate routes with chunks it has hashed but not yet checked against their schemas: now they are.
  checkAfterAnswer(c.executionCtx);
};

const app = new Hono<AppEnv>();
app.use(trace, prepare, authenticate);
app.get('/_gateway/healthz', healthz);
app.get('/_gateway/status', status);
app.get('/_gateway/explain', explain);
app.get('/_gateway/', statusPage);
app.all('/_gateway/*', () => notFound());
app.all('*', firstAnswer(noSnapshot, jsBundle, reverseProxy, apiService, core));
app.onError((err) => {
  // A chunk of the routing snapshot failed its hash or schema: the store has stopped using it (snapshot/store.ts).
  if (err instanceof SnapshotPartError) return proxyError(503, `the routing snapshot is invalid: ${err.message}`);
  if (err instanceof SnapshotReadError) return proxyError(503, err.message);
  console.error('ks-edge: unhandled error', err);
  return kubeStatus(500, 'InternalError', 'ks-edge internal error');
});

export default app;
// Durable Object classes of ks-edge.io/rate-limit and ks-edge.io/circuit-breaker (bound in wrangler.toml).
export { CircuitBreaker } from './limits/circuit-breaker';
export { RateLimiter } from './limits/rate-limiter';
