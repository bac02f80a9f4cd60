/**
 * A Kubernetes API server as the source: the three extension kinds and the IAM kinds authorization reads, listed
 * cluster-wide with paging, the Namespaces (for their workspace label), and only the ConfigMaps and Secrets that
 * JSBundles name, read one by one.
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { IAM_GROUP, IAM_VERSION } from '../../../worker/model/iam';
import { API_GROUP, type ConfigMap, type Secret } from '../../../worker/model/resources';
import { httpStatusOf, withRetry } from '../kube-client';
import type { RawObject } from '../manifests';
import type { Source, SourceContents } from './source';

export const API_VERSION = 'v1alpha1';

export interface WatchedKind { group: string; version: string; kind: string; plural: string }

export const EXTENSION_PLURALS: readonly WatchedKind[] = [
  { group: API_GROUP, version: API_VERSION, kind: 'APIService', plural: 'apiservices' },
  { group: API_GROUP, version: API_VERSION, kind: 'JSBundle', plural: 'jsbundles' },
  { group: API_GROUP, version: API_VERSION, kind: 'ReverseProxy', plural: 'reverseproxies' },
];

/** What authorization reads; `group: ''` is the core group (Namespaces). */
export const IAM_PLURALS: readonly WatchedKind[] = [
  ...[
    ['GlobalRole', 'globalroles'], ['GlobalRoleBinding', 'globalrolebindings'], ['ClusterRole', 'clusterroles'],
    ['ClusterRoleBinding', 'clusterrolebindings'], ['WorkspaceRole', 'workspaceroles'],
    ['WorkspaceRoleBinding', 'workspacerolebindings'], ['Role', 'roles'], ['RoleBinding', 'rolebindings'], ['User', 'users'],
  ].map(([kind, plural]) => ({ group: IAM_GROUP, version: IAM_VERSION, kind: kind!, plural: plural! })),
  { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces' },
];

export const apiPathOf = (k: WatchedKind) => (k.group ? `/apis/${k.group}/${k.version}/${k.plural}` : `/api/${k.version}/${k.plural}`);
const fullName = (k: WatchedKind) => (k.group ? `${k.plural}.${k.group}` : k.plural);

export interface KubeList { items: Record<string, unknown>[]; resourceVersion: string }

/** Lists one kind cluster-wide, page by page. */
export async function listKind(kc: KubeConfig, k: WatchedKind, pageSize = 500, custom = kc.makeApiClient(CustomObjectsApi)): Promise<KubeList> {
  const core = kc.makeApiClient(CoreV1Api);
  const items: Record<string, unknown>[] = [];
  let cont: string | undefined;
  let resourceVersion = '';
  do {
    const page = (await withRetry(`list ${fullName(k)}`, () => (k.group
      ? custom.listClusterCustomObject({ group: k.group, version: k.version, plural: k.plural, limit: pageSize, _continue: cont })
      : core.listNamespace({ limit: pageSize, _continue: cont })))) as {
      items: Record<string, unknown>[]; metadata?: { continue?: string; resourceVersion?: string };
    };
    const apiVersion = k.group ? `${k.group}/${k.version}` : k.version;
    for (const item of page.items) items.push({ ...item, apiVersion, kind: k.kind });
    cont = page.metadata?.continue || undefined;
    resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
  } while (cont);
  return { items, resourceVersion };
}

export function kubeSource(kc: KubeConfig, opts: { pageSize?: number } = {}): Source {
  const cluster = kc.getCurrentCluster()?.server ?? 'in-cluster';
  return {
    description: `kube:${cluster}`,
    async load(): Promise<SourceContents> {
      const core = kc.makeApiClient(CoreV1Api);
      const extensions: RawObject[] = [];
      for (const k of EXTENSION_PLURALS) {
        const list = await listKind(kc, k, opts.pageSize);
        for (const doc of list.items) extensions.push({ doc, origin: `${k.plural}/${nameOf(doc)}` });
      }
      const { iam, iamMissing } = await listIam(kc, opts.pageSize);
      return {
        extensions,
        iam,
        iamMissing,
        errors: [],
        ignored: [],
        reader: {
          configMap: (namespace, name) => readOptional(`get ConfigMap ${namespace}/${name}`, async () => {
            const cm = await core.readNamespacedConfigMap({ name, namespace });
            return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data: cm.data, binaryData: cm.binaryData } as ConfigMap;
          }),
          secret: (namespace, name) => readOptional(`get Secret ${namespace}/${name}`, async () => {
            const s = await core.readNamespacedSecret({ name, namespace });
            return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, data: s.data, stringData: s.stringData } as Secret;
          }),
        },
      };
    },
  };
}

/**
 * The IAM kinds and Namespaces. An API server that does not serve KubeSphere's IAM kinds (404) gives no
 * authorization data, said in the report; a refused list (403) fails the export like any other.
 */
async function listIam(kc: KubeConfig, pageSize?: number): Promise<{ iam: RawObject[] | undefined; iamMissing?: string }> {
  const iam: RawObject[] = [];
  for (const k of IAM_PLURALS) {
    try {
      const list = await listKind(kc, k, pageSize);
      for (const doc of list.items) iam.push({ doc, origin: `${k.plural}/${nameOf(doc)}` });
    } catch (e) {
      if (httpStatusOf(e) !== 404) throw e;
      return { iam: undefined, iamMissing: `the API server does not serve ${fullName(k)} (KubeSphere's IAM CRDs are not installed)` };
    }
  }
  return { iam };
}

const nameOf = (doc: Record<string, unknown>) => {
  const m = doc.metadata as { name?: string; namespace?: string } | undefined;
  return m?.namespace ? `${m.namespace}/${m.name ?? '?'}` : m?.name ?? '?';
};

async function readOptional<T>(what: string, read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await withRetry(what, read);
  } catch (e) {
    if (httpStatusOf(e) === 404) return undefined;
    throw e;
  }
}
