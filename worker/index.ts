/**
 * ks-edge worker. The whole request path is this chain:
 *
 *   failClosed → snapshot → client → authenticate
 *     → /_gateway/*  |  noSnapshot → jsBundle → reverseProxy → apiService → core
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { authenticate, failClosed } from './auth/middleware';
import type { AppEnv } from './env';
import { kubeStatus, notFound } from './errors';
import { apiService } from './handlers/api-service';
import { core } from './handlers/core';
import { healthz, status } from './handlers/gateway';
import { jsBundle } from './handlers/js-bundle';
import { noSnapshot } from './handlers/no-snapshot';
import { reverseProxy } from './handlers/reverse-proxy';
import { snapshotStore } from './snapshot/store';

const snapshot: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set('table', await snapshotStore.current(c.env, c.executionCtx));
  await next();
};

const client: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set('clientIp', c.req.header('cf-connecting-ip'));
  await next();
};

const app = new Hono<AppEnv>();
app.use(failClosed, snapshot, client, authenticate);
app.get('/_gateway/healthz', healthz);
app.get('/_gateway/status', status);
app.all('/_gateway/*', () => notFound());
app.all('*', noSnapshot, jsBundle, reverseProxy, apiService, core);
app.onError((err) => {
  console.error('ks-edge: unhandled error', err);
  return kubeStatus(500, 'InternalError', 'ks-edge internal error');
});

export default app;
