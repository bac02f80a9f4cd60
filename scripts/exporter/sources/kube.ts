/**
 * A Kubernetes API server as the source: the three extension kinds listed cluster-wide with paging, and only the
 * ConfigMaps and Secrets that JSBundles name, read one by one.
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { API_GROUP, type ConfigMap, type Secret } from '../../../worker/model/resources';
import { httpStatusOf, withRetry } from '../kube-client';
import type { RawObject } from '../manifests';
import type { Source, SourceContents } from './source';

export const API_VERSION = 'v1alpha1';
export const EXTENSION_PLURALS = [
  { kind: 'APIService', plural: 'apiservices' },
  { kind: 'JSBundle', plural: 'jsbundles' },
  { kind: 'ReverseProxy', plural: 'reverseproxies' },
] as const;

export interface KubeList { items: Record<string, unknown>[]; resourceVersion: string }

/** Lists one extension kind cluster-wide, page by page. */
export async function listExtensions(api: CustomObjectsApi, kind: string, plural: string, pageSize = 500): Promise<KubeList> {
  const items: Record<string, unknown>[] = [];
  let cont: string | undefined;
  let resourceVersion = '';
  do {
    const page = (await withRetry(`list ${plural}.${API_GROUP}`, () =>
      api.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural, limit: pageSize, _continue: cont }))) as {
      items: Record<string, unknown>[]; metadata?: { continue?: string; resourceVersion?: string };
    };
    for (const item of page.items) items.push({ apiVersion: `${API_GROUP}/${API_VERSION}`, kind, ...item });
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
      const custom = kc.makeApiClient(CustomObjectsApi);
      const core = kc.makeApiClient(CoreV1Api);
      const extensions: RawObject[] = [];
      for (const { kind, plural } of EXTENSION_PLURALS) {
        const list = await listExtensions(custom, kind, plural, opts.pageSize);
        for (const doc of list.items) extensions.push({ doc, origin: `${plural}/${(doc.metadata as { name?: string })?.name ?? '?'}` });
      }
      return {
        extensions,
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

async function readOptional<T>(what: string, read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await withRetry(what, read);
  } catch (e) {
    if (httpStatusOf(e) === 404) return undefined;
    throw e;
  }
}
