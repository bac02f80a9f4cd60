/** A folder of manifests as the source: extensions plus the ConfigMaps and Secrets they name. */
import type { ConfigMap, Secret } from '../../../worker/model/resources';
import { readManifestFolder } from '../manifests';
import { iamKindOf, kindOf, nameOf, validate } from '../validate';
import type { Source, SourceContents } from './source';

export function directorySource(folder: string): Source {
  return {
    description: `dir:${folder}`,
    async load(): Promise<SourceContents> {
      const { objects, errors } = await readManifestFolder(folder);
      const configMaps = new Map<string, ConfigMap | string>();
      const secrets = new Map<string, Secret | string>();
      const contents: SourceContents = {
        extensions: [],
        iam: [],
        errors,
        ignored: [],
        reader: {
          configMap: async (ns, name) => found(configMaps.get(`${ns}/${name}`)),
          secret: async (ns, name) => found(secrets.get(`${ns}/${name}`)),
        },
      };
      for (const o of objects) {
        const kind = kindOf(o.doc);
        if (kind === 'APIService' || kind === 'JSBundle' || kind === 'ReverseProxy') contents.extensions.push(o);
        else if (iamKindOf(o.doc)) contents.iam!.push(o);
        else if (kind === 'ConfigMap' || kind === 'Secret') {
          const meta = o.doc.metadata as { namespace?: unknown } | undefined;
          const key = `${typeof meta?.namespace === 'string' ? meta.namespace : 'default'}/${nameOf(o.doc)}`;
          const checked = validate(kind, o.doc);
          const value = checked.ok ? checked.value : `${kind} ${key} (${o.origin}) is invalid: ${checked.problems.join('; ')}`;
          (kind === 'ConfigMap' ? configMaps : secrets).set(key, value as never);
        } else contents.ignored.push(`${String(o.doc.kind ?? '(no kind)')} ${nameOf(o.doc)} (${o.origin})`);
      }
      // A folder without IAM objects publishes no authorization data (rather than an empty set that knows no user).
      if (contents.iam!.length === 0) {
        contents.iam = undefined;
        contents.iamMissing = 'the folder holds no iam.kubesphere.io objects';
      }
      return contents;
    },
  };
}

/** An object read from the folder, or the reason it is invalid (thrown when a JSBundle names it). */
function found<T>(entry: T | string | undefined): T | undefined {
  if (typeof entry === 'string') throw new Error(entry);
  return entry;
}
