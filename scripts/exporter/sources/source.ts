/** What the exporter reads from: a folder of manifests or a Kubernetes API server. */
import type { ObjectReader } from '../bundle-sources';
import type { RawObject } from '../manifests';

export interface SourceContents {
  /** APIService, JSBundle and ReverseProxy objects, unvalidated. */
  extensions: RawObject[];
  /**
   * What authorization reads (roles, bindings, users, namespaces), unvalidated; undefined when the source has no
   * IAM kinds at all (an API server without KubeSphere's IAM CRDs), so no authorization data is published.
   */
  iam: RawObject[] | undefined;
  /** Why `iam` is undefined, for the report. */
  iamMissing?: string;
  /** Reads the ConfigMaps and Secrets that JSBundles name. */
  reader: ObjectReader;
  /** Anything that makes the read untrustworthy (a file that does not parse): the run fails, nothing is published. */
  errors: string[];
  /** Objects read but not used, by kind, for the summary. */
  ignored: string[];
}

export interface Source {
  readonly description: string;
  load(): Promise<SourceContents>;
}
