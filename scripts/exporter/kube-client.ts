/**
 * The exporter's Kubernetes client: kubeconfig (file and context) or the in-cluster service account, and a retry
 * wrapper that honours 429/5xx Retry-After (an API server answers `429 storage is (re)initializing` right after a
 * CRD is established) and turns 403s into messages that say which permission is missing.
 */
import { ApiException, KubeConfig } from '@kubernetes/client-node';

export interface KubeOptions { kubeconfig?: string; context?: string }

export function kubeConfig(o: KubeOptions): KubeConfig {
  const kc = new KubeConfig();
  if (o.kubeconfig) kc.loadFromFile(o.kubeconfig);
  else if (process.env.KUBERNETES_SERVICE_HOST && !process.env.KUBECONFIG) kc.loadFromCluster();
  else kc.loadFromDefault();
  if (o.context) kc.setCurrentContext(o.context);
  return kc;
}

export class KubeAccessError extends Error {}

/** A request the API server answered with an error status that retrying will not change. */
export class KubeHttpError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

export function httpStatusOf(e: unknown): number | undefined {
  if (e instanceof ApiException || e instanceof KubeHttpError) return e instanceof ApiException ? e.code : e.status;
  const code = (e as { code?: unknown; statusCode?: unknown })?.code ?? (e as { statusCode?: unknown })?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** Runs `call`, retrying 429 and 5xx; `what` names the request in errors ("list reverseproxies…"). */
export async function withRetry<T>(what: string, call: () => Promise<T>, attempts = 8): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (e) {
      const status = httpStatusOf(e);
      if ((status === 429 || (status !== undefined && status >= 500)) && attempt < attempts) {
        const header = e instanceof ApiException ? (e.headers?.['retry-after'] ?? e.headers?.['Retry-After']) : undefined;
        const seconds = Number(header);
        await new Promise((r) => setTimeout(r, Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 30) * 1000 : Math.min(200 * 2 ** attempt, 5000)));
        continue;
      }
      if (status === 401) throw new KubeAccessError(`${what}: 401 Unauthorized — the exporter's credentials were refused`);
      if (status === 403) throw new KubeAccessError(`${what}: 403 Forbidden — the exporter's service account lacks this permission (see config/deploy/rbac.yaml)`);
      if (e instanceof ApiException) throw new KubeHttpError(`${what}: HTTP ${e.code} ${messageOf(e.body)}`, e.code);
      throw new Error(`${what}: ${(e as Error).message}`);
    }
  }
}

function messageOf(body: unknown): string {
  if (typeof body === 'string') {
    try {
      return (JSON.parse(body) as { message?: string }).message ?? body.slice(0, 200);
    } catch {
      return body.slice(0, 200);
    }
  }
  return (body as { message?: string })?.message ?? '';
}
