/**
 * A real Kubernetes API server for the exporter's tests: kts (test/kube-server), built once into a cache and started
 * per test file on free loopback ports; or, when KS_EDGE_TEST_KUBECONFIG names one, another real cluster.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { withRetry } from '../../scripts/exporter/kube-client';
import { freePort } from './workerd';

export interface Kube {
  kubeconfig: string;
  /** Credentials the API server knows but grants nothing to (for RBAC-denied reads). */
  restrictedKubeconfig: string;
  kc: k8s.KubeConfig;
  stop(): Promise<void>;
}

const RESTRICTED_TOKEN = 'restricted-token-for-tests';

export async function startKube(): Promise<Kube> {
  const external = process.env.KS_EDGE_TEST_KUBECONFIG;
  const dir = await mkdtemp(join(tmpdir(), 'ks-edge-kube-'));
  if (external) {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(external);
    return { kubeconfig: external, restrictedKubeconfig: await restrictedFromServiceAccount(kc, dir), kc, stop: () => rm(dir, { recursive: true, force: true }) };
  }
  const cache = execFileSync('test/kube-server/ensure.sh', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  const port = await freePort();
  const eport = await freeBase();
  const run = join(dir, 'run');
  const started = spawnSync('bash', ['test/kube-server/start.sh'], {
    env: { ...process.env, W: cache, D: run, PORT: String(port), EPORT: String(eport), EXTRA_TOKENS: `${RESTRICTED_TOKEN},nobody,uid-9,"developers"` },
    encoding: 'utf8',
  });
  if (started.status !== 0) throw new Error(`kts did not start: ${started.stdout}${started.stderr}`);
  const kubeconfig = join(run, 'kubeconfig');
  const restrictedKubeconfig = join(dir, 'restricted.kubeconfig');
  await writeFile(restrictedKubeconfig, (await readFile(kubeconfig, 'utf8')).replace(/token: ".*"/, `token: "${RESTRICTED_TOKEN}"`));
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  // kts and etcd run in their own sessions and would outlive a crashed caller: stop them on any exit.
  const stopNow = () => spawnSync('bash', ['test/kube-server/stop.sh'], { env: { ...process.env, D: run } });
  process.once('exit', stopNow);
  return {
    kubeconfig, restrictedKubeconfig, kc,
    async stop() {
      process.removeListener('exit', stopNow);
      stopNow();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** etcd takes a port and the two above it +10 and +20. */
async function freeBase(): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (p < 60000) return p;
  }
}

/** For an external cluster: a ServiceAccount with no RoleBinding, and a token for it. */
async function restrictedFromServiceAccount(kc: k8s.KubeConfig, dir: string): Promise<string> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const ns = 'default';
  const name = 'ks-edge-test-restricted';
  await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name } } }).catch(() => undefined);
  const tr = await core.createNamespacedServiceAccountToken({ name, namespace: ns, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  const user = kc.getCurrentUser()!;
  const file = join(dir, 'restricted.kubeconfig');
  const copy = new k8s.KubeConfig();
  copy.loadFromOptions({ clusters: kc.clusters, contexts: kc.contexts, currentContext: kc.currentContext, users: [{ name: user.name, token: tr.status!.token }] });
  await writeFile(file, copy.exportConfig());
  return file;
}

/** Creates (or replaces) every object in the YAML, namespaces first; CRDs are waited for until Established. */
export async function apply(kc: k8s.KubeConfig, yaml: string): Promise<void> {
  const client = k8s.KubernetesObjectApi.makeApiClient(kc);
  // Empty documents (a file that starts with `---`, comments only) would make the client's parser throw.
  const docs = yaml.split(/^---[ \t]*$/m).filter((d) => d.replace(/^\s*#.*$/gm, '').trim() !== '');
  const objects = docs.flatMap((d) => k8s.loadAllYaml(d) as k8s.KubernetesObject[]).filter(Boolean);
  for (const ns of new Set(objects.map((o) => o.metadata?.namespace).filter((n): n is string => Boolean(n)))) {
    await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }).catch(() => undefined);
  }
  for (const o of objects) {
    await withRetry(`apply ${o.kind} ${o.metadata?.name}`, async () => {
      try {
        await client.create(o);
      } catch (e) {
        if ((e as { code?: number }).code !== 409) throw e;
        const current = await client.read(o as never);
        await client.replace({ ...o, metadata: { ...o.metadata, resourceVersion: current.metadata?.resourceVersion } });
      }
    });
    if (o.kind === 'CustomResourceDefinition') await established(kc, o.metadata!.name!);
  }
}

export async function remove(kc: k8s.KubeConfig, kind: string, name: string, apiVersion = 'extensions.kubesphere.io/v1alpha1'): Promise<void> {
  const client = k8s.KubernetesObjectApi.makeApiClient(kc);
  await client.delete({ apiVersion, kind, metadata: { name } });
}

/** KubeSphere's CRDs: the three extension kinds (config/crds) and, for authorization, the IAM kinds. */
export function kubesphereCrds(): string {
  const dirs = ['config/crds', 'test/kube-server/crds'];
  return dirs.flatMap((d) => readdirSync(d).sort().map((f) => readFileSync(join(d, f), 'utf8'))).join('\n---\n');
}

async function established(kc: k8s.KubeConfig, name: string): Promise<void> {
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  for (let i = 0; i < 200; i++) {
    const crd = await ext.readCustomResourceDefinition({ name });
    if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`CRD ${name} never became Established`);
}
