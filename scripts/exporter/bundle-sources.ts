/**
 * Resolves every source of a JSBundle (raw, ConfigMap `data` then `binaryData`, Secret, URL or service) to bytes,
 * with the link each is served at. A failing source is an asset with an `error`, for the publisher to replace with
 * the last good bytes when it has them.
 */
import type { ConfigMap, Endpoint, JSBundle, Secret } from '../../worker/model/resources';
import { decodeBase64, decodeOnceOrTwice } from './base64';
import { resolveEndpoint, tlsSettings } from './endpoint';
import { fetchSource, KV_VALUE_LIMIT } from './fetch-source';

export const EXTENSION_REF_LABEL = 'kubesphere.io/extension-ref';
/** Where KubeSphere looks for a JSBundle's ConfigMap/Secret when the reference names no namespace. */
export const DEFAULT_REF_NAMESPACE = 'kubesphere-system';

export const JS_TYPE = 'application/javascript; charset=utf-8';
export const CSS_TYPE = 'text/css';

/** Reads the ConfigMaps and Secrets JSBundles name, and nothing else. */
export interface ObjectReader {
  configMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<Secret | undefined>;
}

export interface ResolvedAsset {
  link: string;
  contentType: string;
  bytes?: Buffer;
  error?: string;
}

export interface BundleContext { reader: ObjectReader; clusterOrigin: string | undefined }

/** The main link: status.link, else /dist/{extension-ref}/index.js, else /dist/{name}/{filenameOverride|index.js}. */
export function mainLink(b: JSBundle): string {
  if (b.status?.link) return b.status.link;
  const ref = b.metadata.labels?.[EXTENSION_REF_LABEL];
  if (ref) return `/dist/${ref}/index.js`;
  return `/dist/${b.metadata.name}/${b.spec.filenameOverride || 'index.js'}`;
}

const extensionDir = (b: JSBundle) => b.metadata.labels?.[EXTENSION_REF_LABEL] ?? b.metadata.name;

export async function resolveBundle(b: JSBundle, ctx: BundleContext): Promise<{ assets: ResolvedAsset[]; warnings: string[] }> {
  const warnings: string[] = [];
  const assets: ResolvedAsset[] = [];
  assets.push(await attempt(mainLink(b), JS_TYPE, () => mainBytes(b, ctx, warnings)));
  const style = b.spec.assets?.style;
  if (style) {
    if (!style.link) warnings.push('spec.assets.style has no link and is not served');
    else assets.push(await attempt(style.link, CSS_TYPE, () => endpointBytes(style, 'spec.assets.style', ctx)));
  }
  for (const [i, file] of (b.spec.assets?.files ?? []).entries()) {
    const field = `spec.assets.files[${i}]`;
    const link = file.link ?? (file.name ? `/dist/${extensionDir(b)}/${file.name}` : undefined);
    if (!link) {
      warnings.push(`${field} has neither link nor name and is not served`);
      continue;
    }
    let reported: string | undefined;
    const asset = await attempt(link, file.mimeType ?? 'application/octet-stream', async () => {
      const got = await endpointBytesWithType(file, field, ctx);
      reported = got.contentType;
      return got.bytes;
    });
    if (!file.mimeType && reported) asset.contentType = reported;
    assets.push(asset);
  }
  for (const a of assets) {
    if (!a.link.startsWith('/dist/')) warnings.push(`link ${a.link} is outside /dist/ and can never be requested as a bundle`);
  }
  return { assets, warnings };
}

async function attempt(link: string, contentType: string, get: () => Promise<Buffer>): Promise<ResolvedAsset> {
  try {
    const bytes = await get();
    if (bytes.length > KV_VALUE_LIMIT) return { link, contentType, error: `${bytes.length} bytes is larger than the 25 MiB a KV value may hold` };
    return { link, contentType, bytes };
  } catch (e) {
    return { link, contentType, error: (e as Error).message };
  }
}

async function mainBytes(b: JSBundle, ctx: BundleContext, warnings: string[]): Promise<Buffer> {
  const { raw, rawFrom } = b.spec;
  if (raw !== undefined) {
    if (rawFrom) warnings.push('both spec.raw and spec.rawFrom are set; spec.raw wins');
    return decodeOnceOrTwice(raw, 'spec.raw');
  }
  if (!rawFrom) throw new Error('spec.raw or spec.rawFrom is required');
  if (rawFrom.configMapKeyRef) {
    const ref = rawFrom.configMapKeyRef;
    const ns = ref.namespace || DEFAULT_REF_NAMESPACE;
    const cm = await ctx.reader.configMap(ns, ref.name);
    if (!cm) throw new Error(`ConfigMap ${ns}/${ref.name} not found`);
    if (cm.data?.[ref.key] !== undefined) return Buffer.from(cm.data[ref.key]!, 'utf8');
    if (cm.binaryData?.[ref.key] !== undefined) return decodeBase64(cm.binaryData[ref.key]!, `ConfigMap ${ns}/${ref.name} binaryData.${ref.key}`);
    throw new Error(`ConfigMap ${ns}/${ref.name} has no key ${JSON.stringify(ref.key)}`);
  }
  if (rawFrom.secretKeyRef) {
    const ref = rawFrom.secretKeyRef;
    const ns = ref.namespace || DEFAULT_REF_NAMESPACE;
    const secret = await ctx.reader.secret(ns, ref.name);
    if (!secret) throw new Error(`Secret ${ns}/${ref.name} not found`);
    if (secret.data?.[ref.key] !== undefined) return decodeBase64(secret.data[ref.key]!, `Secret ${ns}/${ref.name} data.${ref.key}`);
    if (secret.stringData?.[ref.key] !== undefined) return Buffer.from(secret.stringData[ref.key]!, 'utf8');
    throw new Error(`Secret ${ns}/${ref.name} has no key ${JSON.stringify(ref.key)}`);
  }
  return endpointBytes(rawFrom, 'spec.rawFrom', ctx);
}

async function endpointBytes(e: Endpoint, field: string, ctx: BundleContext): Promise<Buffer> {
  return (await endpointBytesWithType(e, field, ctx)).bytes;
}

async function endpointBytesWithType(e: Endpoint, field: string, ctx: BundleContext) {
  const { url, upstream } = resolveEndpoint(e, field);
  const tls = tlsSettings(e);
  const ca = tls.ca ? decodeOnceOrTwice(tls.ca, `${field}.caBundle`) : undefined;
  return fetchSource({ url, upstream, clusterOrigin: ctx.clusterOrigin, ca, insecure: tls.insecure });
}
