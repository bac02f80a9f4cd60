/**
 * Where the edge acts on a token (an extension route that is not public, a JSBundle, the gateway's endpoints), it
 * first has ks-apiserver confirm the token still stands (auth/token-review.ts). Requests the core answers are not
 * reviewed here: ks-apiserver authenticates those itself.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../env';
import { kubeStatus, proxyError } from '../errors';
import { redactCredentials } from '../redact';
import { reviewSettings } from './review-settings';
import { confirmToken, type Confirmation } from './token-review';

/** Undefined when the request may go on; else the 401 (KubeSphere's message) or the 503 (no verdict). */
export function reviewGate(c: Context<AppEnv>): Response | undefined | Promise<Response | undefined> {
  const credential = c.get('credential');
  if (!credential) return undefined;
  const s = reviewSettings(c.env);
  if (!('origin' in s)) return undefined; // off (a bad setting was refused in `prepare`)
  const ctx = c.executionCtx;
  const verdict = confirmToken(credential.token, c.get('identity').user, credential.exp, s, (p) => ctx.waitUntil(p));
  return verdict instanceof Promise ? verdict.then((v) => answer(c, v)) : answer(c, verdict);
}

function answer(c: Context<AppEnv>, v: Confirmation): Response | undefined {
  if (v.ok) {
    if (v.how !== 'cached') c.get('trace').review = v.how;
    return undefined;
  }
  c.get('trace').review = v.status === 401 ? 'refused' : 'failed';
  // KubeSphere's own 401 body: a Kubernetes Status with its message.
  if (v.status === 401) return kubeStatus(401, 'Unauthorized', redactCredentials(v.message));
  return proxyError(503, `${v.message}; nothing was proxied`);
}
