/**
 * ks-edge worker. The whole request path is this chain:
 *
 *   prepare (fail closed without auth config · snapshot · client) → authenticate
 *     → /_gateway/*  |  noSnapshot → jsBundle → reverseProxy → apiService → core
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { authConfigMissing, authenticate } from './auth/middleware';
import type { AppEnv } from './env';
import { kubeStatus, notFound } from './errors';
import { apiService } from './handlers/api-service';
import { core } from './handlers/core';
import { healthz, status } from './handlers/gateway';
import { jsBundle } from './handlers/js-bundle';
import { noSnapshot } from './handlers/no-snapshot';
import { reverseProxy } from './handlers/reverse-proxy';
import { firstAnswer } from './handlers/step';
import { snapshotStore } from './snapshot/store';

/** What every request needs before authentication; one middleware, as each costs a promise per request. */
const prepare: MiddlewareHandler<AppEnv> = async (c, next) => {
  const refused = authConfigMissing(c.env);
  if (refused) return refused;
  c.set('table', await snapshotStore.current(c.env, c.executionCtx));
  c.set('url', new URL(c.req.url));
  c.set('clientIp', c.req.header('cf-connecting-ip'));
  await next();
};

const app = new Hono<AppEnv>();
app.use(prepare, authenticate);
app.get('/_gateway/healthz', healthz);
app.get('/_gateway/status', status);
app.all('/_gateway/*', () => notFound());
app.all('*', firstAnswer(noSnapshot, jsBundle, reverseProxy, apiService, core));
app.onError((err) => {
  console.error('ks-edge: unhandled error', err);
  return kubeStatus(500, 'InternalError', 'ks-edge internal error');
});

export default app;
// Durable Object classes of ks-edge.io/rate-limit and ks-edge.io/circuit-breaker (bound in wrangler.toml).
export { CircuitBreaker } from './limits/circuit-breaker';
export { RateLimiter } from './limits/rate-limiter';
